//! macOS: one IOKit registry entry, found by class, read in-process, released when dropped.

use std::ffi::CStr;

use objc2_core_foundation::{CFDictionary, CFRetained, CFString, CFType};
use objc2_io_kit::{
    io_service_t, IOObjectRelease, IORegistryEntryCreateCFProperty, IOServiceGetMatchingService,
    IOServiceMatching,
};

/// `kIOMainPortDefault` is `MACH_PORT_NULL`; the named constant only links on macOS 12+.
const IO_MAIN_PORT_DEFAULT: libc::mach_port_t = 0;

pub struct IoService(io_service_t);

impl IoService {
    /// The first service of class `class`.
    pub fn matching(class: &CStr) -> Option<IoService> {
        // SAFETY: a NUL-terminated class name.
        let matching = unsafe { IOServiceMatching(class.as_ptr()) }?;
        // SAFETY: a mutable dictionary is a dictionary; the call consumes this reference.
        let matching = unsafe { CFRetained::cast_unchecked::<CFDictionary>(matching) };
        // SAFETY: a matching dictionary from `IOServiceMatching` and the default main port.
        let service = unsafe { IOServiceGetMatchingService(IO_MAIN_PORT_DEFAULT, Some(matching)) };
        (service != 0).then_some(IoService(service))
    }

    /// Its property `key`, if it has one.
    pub fn property(&self, key: &'static str) -> Option<CFRetained<CFType>> {
        let key = CFString::from_static_str(key);
        // SAFETY: a live registry entry, a CFString key, the default allocator, no options.
        unsafe { IORegistryEntryCreateCFProperty(self.0, Some(&key), None, 0) }
    }
}

impl Drop for IoService {
    fn drop(&mut self) {
        IOObjectRelease(self.0);
    }
}
