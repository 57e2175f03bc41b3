#!/usr/bin/env bash
# Rebuilds samples/parade.mp4 (960x540, 16:9) and samples/parade-4x3.mp4
# (640x480) from public-domain / CC0 stills shipped with scikit-image.
# See samples/README.md for what the clip shows and each image's license.
#
# usage: samples/tools/make-sample.sh <skimage-data-dir> [out-dir]
#
# Get the stills without installing scikit-image:
#   cd /tmp && apt-get download python3-skimage && dpkg -x python3-skimage_*.deb skimage
#   samples/tools/make-sample.sh /tmp/skimage/usr/lib/python3/dist-packages/skimage/data
# (or pass the data/ folder of any scikit-image source checkout or wheel).
#
# FFMPEG=/path/to/ffmpeg overrides the ffmpeg used (needs libx264 and the geq,
# zoompan, colorkey and overlay filters; tested with ffmpeg 4.1 and 5.1). Output bytes
# differ slightly between ffmpeg/x264 versions; the content does not.
set -euo pipefail

data=${1:?usage: make-sample.sh <skimage-data-dir> [out-dir]}
out=${2:-$(cd "$(dirname "$0")/.." && pwd)}
ffmpeg=${FFMPEG:-ffmpeg}
for f in astronaut.png camera.png chelsea.png coffee.png horse.png; do
  [ -f "$data/$f" ] || { echo "make-sample.sh: $data/$f not found" >&2; exit 2; }
done

W=960 H=540 FPS=10 DUR=12

# Two bands on a 960x540 gradient canvas, so objects rarely cover each other:
#   top band (y=10, 280x280 stills)
#     astronaut   left -> right at 190 px/s, t=0..5.9          (COCO person)
#     camera man  right -> left at 170 px/s, t=5.9..12          (person, grayscale)
#   bottom band (y=305..320, stills up to 330x222)
#     coffee cup  drifts in from the right at 45 px/s, slow zoom-in (cup)
#     cat         left -> right at 300 px/s, t=1..5.4            (cat)
#     horse       left -> right at 230 px/s, t=6.5..12           (horse, black silhouette)
# The cat and then the horse pass in front of the cup: two short partial
# occlusions for trackers. t is seconds; x/y are the still's top-left corner.
# The 4:3 variant is the centre 720x540 of the same frames scaled to 640x480:
# objects enter and leave at other times, which is all a 4:3 source needs.
filter="
color=c=black:s=${W}x${H}:r=${FPS}:d=${DUR},format=rgb24,
  geq=r='70+70*Y/H':g='105+60*Y/H':b='150-30*Y/H'[bg];
[0:v]scale=280:280,format=rgba[astronaut];
[1:v]format=rgb24,scale=280:280,format=rgba[cameraman];
[2:v]scale=330:220,format=rgba[cat];
[3:v]zoompan=z='min(1+0.004*on,1.45)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=1:s=300x200:fps=${FPS},format=rgba[cup];
[4:v]format=rgba,colorkey=white:0.3:0.1,scale=270:-2[horse];
[bg][cup]overlay=x='880-45*t':y=320:eval=frame[s1];
[s1][astronaut]overlay=x='-120+190*t':y=10:eval=frame:enable='lte(t,5.9)'[s2];
[s2][cameraman]overlay=x='960-170*(t-5.9)':y=10:eval=frame:enable='gte(t,5.9)'[s3];
[s3][cat]overlay=x='-330+300*(t-1)':y=310:eval=frame:enable='between(t,1,5.4)'[s4];
[s4][horse]overlay=x='-270+230*(t-6.5)':y=305:eval=frame:enable='gte(t,6.5)',
  split[wide][mid];
[wide]format=yuv420p[v169];
[mid]crop=720:540:120:0,scale=640:480:flags=lanczos,format=yuv420p[v43]
"

stills=(-loop 1 -framerate "$FPS" -t "$DUR")
x264=(-c:v libx264 -preset veryslow -crf 28 -g 20 -keyint_min 20 -sc_threshold 0 -pix_fmt yuv420p
  -movflags +faststart -an -map_metadata -1
  -metadata comment="Built from CC0/public-domain scikit-image stills; see samples/README.md")

"$ffmpeg" -hide_banner -loglevel error -y \
  "${stills[@]}" -i "$data/astronaut.png" \
  "${stills[@]}" -i "$data/camera.png" \
  "${stills[@]}" -i "$data/chelsea.png" \
  "${stills[@]}" -i "$data/coffee.png" \
  "${stills[@]}" -i "$data/horse.png" \
  -filter_complex "$filter" \
  -map '[v169]' -r "$FPS" -t "$DUR" "${x264[@]}" "$out/parade.mp4" \
  -map '[v43]' -r "$FPS" -t "$DUR" "${x264[@]}" "$out/parade-4x3.mp4"

ls -l "$out/parade.mp4" "$out/parade-4x3.mp4"
