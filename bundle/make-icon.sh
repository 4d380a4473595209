#!/usr/bin/env bash
# Draws the app icon with ImageMagick: assets/AppIcon.png (1024 px, the source) and
# assets/AppIcon.iconset/ (the ten sizes macOS's iconutil wants). Run it again after changing the
# design; the PNGs are committed, so building the app (bundle/make-app.sh) never needs ImageMagick.
#
# The design follows the macOS 11 icon grid: an 824 px rounded square centred on a 1024 px
# transparent canvas, with a soft shadow below it. On it, in white, the menu bar's
# "connected" glyph (a disc, assets/make-icons.sh) inside the thin ring the other states' glyphs
# are drawn around, on the connected state's green.
#
#   bundle/make-icon.sh            # CONVERT=/path/to/convert to pick another ImageMagick
#
# The output is byte-for-byte reproducible (no timestamps in the PNGs). Intermediates are written
# as PNG32: ImageMagick 6 reads a grey PNG back as Gray and would turn the whole icon grey.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
convert=${CONVERT:-convert}
if ! "$convert" -version 2>/dev/null | grep -q ImageMagick; then
    echo "make-icon: ImageMagick's convert is needed (apt-get install imagemagick / brew install imagemagick)" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No tIME / date text chunks, no other metadata: the same input gives the same bytes.
png_out=(-strip -define "png:exclude-chunks=date,time")

top='#41c26a'    # a lighter shade of the connected colour (#2e9d4f) ...
bottom='#1d7a3b' # ... to a darker one
# The rounded square: x/y 100..923 (824 px), corner radius 185 (Apple's grid).
square='roundrectangle 100,100 923,923 185,185'

# Shadow: the square's shape, 12 px lower, blurred.
"$convert" -size 1024x1024 xc:none -fill 'rgba(0,0,0,0.38)' \
    -draw 'roundrectangle 100,114 923,937 185,185' -blur 0x16 "PNG32:$work/shadow.png"

# Background: a vertical gradient cut to the rounded square.
"$convert" -size 1024x1024 "gradient:$top-$bottom" -alpha set \
    \( -size 1024x1024 xc:none -fill white -draw "$square" \) \
    -compose DstIn -composite "PNG32:$work/square.png"

# The glyph, in white: the disc (radius 19/44 of its box in the menu-bar icon) and a ring.
"$convert" -size 1024x1024 xc:none \
    -fill none -stroke 'rgba(255,255,255,0.45)' -strokewidth 34 -draw 'circle 512,512 512,222' \
    -stroke none -fill white -draw 'circle 512,512 512,318' \
    "PNG32:$work/glyph.png"

"$convert" "$work/shadow.png" "$work/square.png" -compose Over -composite \
    "$work/glyph.png" -compose Over -composite \
    "${png_out[@]}" "PNG32:$repo/assets/AppIcon.png"

# The iconset iconutil reads (names are fixed by Apple): NAME.png at 1x, NAME@2x.png at 2x.
iconset="$repo/assets/AppIcon.iconset"
rm -rf "$iconset"
mkdir -p "$iconset"
for size in 16 32 128 256 512; do
    for scale in 1 2; do
        px=$((size * scale))
        name="icon_${size}x${size}"
        [ "$scale" = 2 ] && name="$name@2x"
        if [ "$px" = 1024 ]; then
            cp "$repo/assets/AppIcon.png" "$iconset/$name.png"
        else
            "$convert" "$repo/assets/AppIcon.png" -filter Lanczos -resize "${px}x${px}" \
                "${png_out[@]}" "PNG32:$iconset/$name.png"
        fi
    done
done
echo "make-icon: wrote assets/AppIcon.png and assets/AppIcon.iconset/ ($(du -sk "$iconset" | cut -f1) KB)"
