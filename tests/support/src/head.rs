//! The head the daemon probes: a TCP listener on 127.0.0.1 that accepts and drops connections
//! (so its backlog never fills), which a test can close and open again on the same port.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub struct FakeHead {
    port: u16,
    serving: Option<Serving>,
}

struct Serving {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl FakeHead {
    /// Listens on a free port.
    pub fn start() -> FakeHead {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake head");
        let port = listener.local_addr().expect("fake head address").port();
        FakeHead {
            port,
            serving: Some(Self::serve(listener)),
        }
    }

    fn serve(listener: TcpListener) -> Serving {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            thread::spawn(move || loop {
                let accepted = listener.accept();
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                // A probe only connects; an accept error (EMFILE…) is retried after a beat.
                if accepted.is_err() {
                    thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Serving { stop, thread }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Closes the port: the next probe is refused.
    pub fn down(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.stop.store(true, Ordering::SeqCst);
            // Wakes the blocked accept; if the listener is already gone this is refused.
            let _ = TcpStream::connect_timeout(&self.addr(), Duration::from_secs(1));
            let _ = serving.thread.join();
        }
    }

    /// Listens on the same port again (std sets SO_REUSEADDR; retried in case a probe's
    /// ephemeral port or a TIME_WAIT briefly holds it).
    pub fn up(&mut self) {
        if self.serving.is_some() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match TcpListener::bind(self.addr()) {
                Ok(listener) => {
                    self.serving = Some(Self::serve(listener));
                    return;
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding port {}: {e}; retrying", self.port);
                    thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("could not listen on port {} again: {e}", self.port),
            }
        }
    }
}

impl Drop for FakeHead {
    fn drop(&mut self) {
        self.down();
    }
}
