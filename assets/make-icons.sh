#!/usr/bin/env bash
# Draws the menu-bar icons with ImageMagick. Run it again after changing a shape; the PNGs are
# committed, so building the app never needs ImageMagick.
#
# For each state: NAME-template.png (22 px) and NAME-template@2x.png (44 px) are macOS template
# images (black + alpha: macOS recolours them for light and dark menu bars); NAME-color.png
# (44 px) is the coloured variant for Linux trays, which do not recolour.
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

draw() { # shape colour size out
  local shape=$1 colour=$2 size=$3 out=$4
  local s; s=$(awk "BEGIN{print $size/44}")
  local c r w
  c=$(awk "BEGIN{print 22*$s}"); r=$(awk "BEGIN{print 17*$s}"); w=$(awk "BEGIN{print 4*$s}")
  local ring=(-stroke "$colour" -strokewidth "$w" -fill none -draw "circle $c,$c $c,$(awk "BEGIN{print $c-$r}")")
  local args=()
  case $shape in
    disc) args=(-fill "$colour" -stroke none -draw "circle $c,$c $c,$(awk "BEGIN{print $c-$r-$w/2}")") ;;
    half) args=("${ring[@]}" -stroke none -fill "$colour" -draw "path 'M $c,$(awk "BEGIN{print $c-$r}") A $r,$r 0 0,1 $c,$(awk "BEGIN{print $c+$r}") Z'") ;;
    ringdot) args=("${ring[@]}" -stroke none -fill "$colour" -draw "circle $c,$c $c,$(awk "BEGIN{print $c-6*$s}")") ;;
    slashed) args=("${ring[@]}" -draw "line $(awk "BEGIN{print 9*$s}"),$(awk "BEGIN{print 35*$s}") $(awk "BEGIN{print 35*$s}"),$(awk "BEGIN{print 9*$s}")") ;;
    bars) args=(-stroke none -fill "$colour" -draw "roundrectangle $(awk "BEGIN{print 11*$s}"),$(awk "BEGIN{print 7*$s}") $(awk "BEGIN{print 19*$s}"),$(awk "BEGIN{print 37*$s}") $(awk "BEGIN{print 2*$s}"),$(awk "BEGIN{print 2*$s}")" -draw "roundrectangle $(awk "BEGIN{print 25*$s}"),$(awk "BEGIN{print 7*$s}") $(awk "BEGIN{print 33*$s}"),$(awk "BEGIN{print 37*$s}") $(awk "BEGIN{print 2*$s}"),$(awk "BEGIN{print 2*$s}")") ;;
    bang) args=("${ring[@]}" -stroke none -fill "$colour" -draw "roundrectangle $(awk "BEGIN{print 20*$s}"),$(awk "BEGIN{print 10*$s}") $(awk "BEGIN{print 24*$s}"),$(awk "BEGIN{print 26*$s}") $(awk "BEGIN{print 1*$s}"),$(awk "BEGIN{print 1*$s}")" -draw "circle $c,$(awk "BEGIN{print 32*$s}") $c,$(awk "BEGIN{print 29.5*$s}")") ;;
  esac
  convert -size "${size}x${size}" xc:none "${args[@]}" "PNG32:$out"
}

for entry in "${states[@]}"; do
  read -r name colour shape <<<"$entry"
  draw "$shape" black 22 "$name-template.png"
  draw "$shape" black 44 "$name-template@2x.png"
  draw "$shape" "$colour" 44 "$name-color.png"
done
echo "icons written to $(pwd)"
