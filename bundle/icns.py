#!/usr/bin/env python3
"""Packs an .iconset folder into an .icns file, without macOS's iconutil.

    python3 bundle/icns.py assets/AppIcon.iconset OUT.icns

bundle/make-app.sh uses it where iconutil is missing (Linux). The format: the magic 'icns', the
file's total length (big-endian u32), then entries, each a 4-character type, the entry's length
including its 8-byte header (big-endian u32), and the data, here a PNG file. The PNG-holding types
macOS 10.8+ reads, and the iconset file each one takes:

    ic07 128 px  icon_128x128.png       ic11  32 px  icon_16x16@2x.png
    ic08 256 px  icon_256x256.png       ic12  64 px  icon_32x32@2x.png
    ic09 512 px  icon_512x512.png       ic13 256 px  icon_128x128@2x.png
    ic10 1024 px icon_512x512@2x.png    ic14 512 px  icon_256x256@2x.png

The 16 and 32 px 1x images have no PNG type that every macOS reads (iconutil writes them as raw
ARGB), so they are left out; macOS scales the 32 and 64 px ones down. Each PNG's size is checked
against its type. Standard library only, so it runs with any python3 >= 3.6.
"""

import struct
import sys
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# (type, pixels, iconset file), in the order iconutil writes them.
ENTRIES = [
    ("ic12", 64, "icon_32x32@2x.png"),
    ("ic07", 128, "icon_128x128.png"),
    ("ic13", 256, "icon_128x128@2x.png"),
    ("ic08", 256, "icon_256x256.png"),
    ("ic14", 512, "icon_256x256@2x.png"),
    ("ic09", 512, "icon_512x512.png"),
    ("ic10", 1024, "icon_512x512@2x.png"),
    ("ic11", 32, "icon_16x16@2x.png"),
]


def png_size(data, name):
    """(width, height) from a PNG's IHDR chunk; exits when the file is not a PNG."""
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 24:
        sys.exit("icns.py: %s is not a PNG file" % name)
    return struct.unpack(">II", data[16:24])


def build(iconset):
    body = b""
    for kind, pixels, name in ENTRIES:
        path = iconset / name
        try:
            data = path.read_bytes()
        except OSError as error:
            sys.exit("icns.py: cannot read %s: %s" % (path, error.strerror))
        size = png_size(data, path)
        if size != (pixels, pixels):
            sys.exit("icns.py: %s is %dx%d, %s needs %dx%d" % (path, size[0], size[1], kind, pixels, pixels))
        body += kind.encode("ascii") + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: icns.py ICONSET_DIR OUT.icns")
    iconset, out = Path(sys.argv[1]), Path(sys.argv[2])
    if not iconset.is_dir():
        sys.exit("icns.py: %s is not a folder" % iconset)
    out.write_bytes(build(iconset))


if __name__ == "__main__":
    main()
