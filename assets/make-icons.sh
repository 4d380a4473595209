#!/usr/bin/env bash
# Draws the menu-bar icons with ImageMagick. Run it again after changing a shape; the PNGs are
# committed, so building the app never needs ImageMagick.
#
# For each state:
#   NAME-template@2x.png (44 px, the one the app shows) and NAME-template.png (22 px): macOS
#     template images (black + alpha: macOS recolours them for light and dark menu bars), a
#     22 pt canvas with a glyph 16 pt tall, as tall as the system's own menu-bar symbols.
#     Why 44 px and not 36: tray-icon 0.26 takes the image's pixels as points and only shrinks
#     an image taller than the 22 pt menu bar, to 22 pt. A 44 px image is thus shown 22 pt tall
#     at 2 px per point (sharp on Retina), and its 32 px glyph 16 pt tall; a 36 px image would
#     also be shrunk to 22 pt and its glyph drawn ~19.5 pt tall, as the old 38 px glyph was.
#   NAME-color.png (44 px): the coloured variant for Linux trays, which do not recolour; the
#     glyph fills 38 of its 44 px, as before.
#
# Every shape is designed on a 44-unit grid whose glyph spans units 3..41 (38 units, centred on
# 22); `draw` maps that grid onto the canvas with the glyph at the requested height.
set -euo pipefail
cd "$(dirname "$0")/icons"

# state colour shape
states=(
  "connected #2e9d4f disc"
  "starting #2f7ed8 half"
  "disconnecting #e0a000 ringdot"
  "disconnected #8a8a8a slashed"
  "paused #6b6b6b bars"
  "error #d33b3b bang"
)

draw() { # shape colour canvas_px glyph_px out
  local shape=$1 colour=$2 size=$3 glyph=$4 out=$5
  local k centre
  k=$(awk "BEGIN{print $glyph/38}")
  centre=$(awk "BEGIN{print $size/2}")
  pos() { awk "BEGIN{print $centre + ($1 - 22) * $k}"; } # a grid position on the canvas
  len() { awk "BEGIN{print $1 * $k}"; }                  # a grid length on the canvas
  local c r w
  c=$(pos 22); r=$(len 17); w=$(len 4)
  local ring=(-stroke "$colour" -strokewidth "$w" -fill none -draw "circle $c,$c $c,$(pos 5)")
  local args=()
  case $shape in
    disc) args=(-fill "$colour" -stroke none -draw "circle $c,$c $c,$(pos 3)") ;;
    half) args=("${ring[@]}" -stroke none -fill "$colour" -draw "path 'M $c,$(pos 5) A $r,$r 0 0,1 $c,$(pos 39) Z'") ;;
    ringdot) args=("${ring[@]}" -stroke none -fill "$colour" -draw "circle $c,$c $c,$(pos 16)") ;;
    slashed) args=("${ring[@]}" -draw "line $(pos 9),$(pos 35) $(pos 35),$(pos 9)") ;;
    bars) args=(-stroke none -fill "$colour" -draw "roundrectangle $(pos 11),$(pos 7) $(pos 19),$(pos 37) $(len 2),$(len 2)" -draw "roundrectangle $(pos 25),$(pos 7) $(pos 33),$(pos 37) $(len 2),$(len 2)") ;;
    bang) args=("${ring[@]}" -stroke none -fill "$colour" -draw "roundrectangle $(pos 20),$(pos 10) $(pos 24),$(pos 26) $(len 1),$(len 1)" -draw "circle $c,$(pos 32) $c,$(pos 29.5)") ;;
  esac
  # No date/time chunks: the same drawing gives the same bytes.
  convert -size "${size}x${size}" xc:none "${args[@]}" -define png:exclude-chunks=date,time "PNG32:$out"
}

for entry in "${states[@]}"; do
  read -r name colour shape <<<"$entry"
  draw "$shape" black 22 16 "$name-template.png"
  draw "$shape" black 44 32 "$name-template@2x.png"
  draw "$shape" "$colour" 44 38 "$name-color.png"
done
echo "icons written to $(pwd)"
