#!/bin/sh
# pdfa_font.sh - make reports/pdfa/DejaVuSans-WinAnsi.ttf, the font every
# PDF/A invoice embeds: DejaVu Sans (Debian's fonts-dejavu-core) cut down
# with fontTools (python3-fonttools) to the characters of Windows-1252,
# the only ones the libharu canvas draws, without hinting. About 18 kB
# instead of 740 kB, so that embedding it costs about 0.2 ms per invoice.
# The result is committed; run this again only to change it.
set -eu
out=${1:-reports/pdfa/DejaVuSans-WinAnsi.ttf}
python3 -m fontTools.subset /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
	--unicodes="U+0020-007E,U+00A0-00FF,U+0152-0153,U+0160-0161,U+0178,U+017D-017E,U+0192,U+02C6,U+02DC,U+2013-2014,U+2018-201A,U+201C-201E,U+2020-2022,U+2026,U+2030,U+2039-203A,U+20AC,U+2122" \
	--no-hinting --layout-features='' --drop-tables+=FFTM --output-file="$out"
echo "wrote $out ($(wc -c <"$out") bytes)"
