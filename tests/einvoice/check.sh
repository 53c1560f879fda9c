#!/bin/sh
# check.sh - validate UBL 2.1 e-invoices (billrun's NUMBER.xml) offline:
#   1. against the UBL 2.1 schema (xmllint, libxml2; ubl-2.1/xsd), the
#      Invoice or CreditNote schema by the file's root element;
#   2. against the EN 16931 UBL rules (en16931/EN16931-UBL-validation.xslt)
#      and the Peppol BIS Billing 3.0 rules (peppol/PEPPOL-EN16931-UBL.xslt),
#      both XSLT 2.0, run by Saxon-HE (Debian libsaxonhe-java, installed by
#      tools/deps.sh): a failed-assert with flag="fatal" is an error; the
#      warnings are printed with -v only.
# Usage: check.sh [-v] FILE.xml...
# Prints one line per problem, "FILE: RULE: text", and exits 0 when every
# file passes, 1 when one does not, 2 when a tool is missing (never a pass
# without the check: a missing processor fails). SAXON_JAR overrides the
# jar's path. README.md says where each artefact comes from.
set -u
here=$(cd "$(dirname "$0")" && pwd)
verbose=0
[ "${1:-}" = "-v" ] && { verbose=1; shift; }
[ $# -gt 0 ] || { echo "usage: check.sh [-v] FILE.xml..." >&2; exit 2; }
jar=${SAXON_JAR:-/usr/share/java/Saxon-HE.jar}
command -v xmllint >/dev/null 2>&1 || { echo "check.sh: xmllint is missing (Debian libxml2-utils)" >&2; exit 2; }
command -v java >/dev/null 2>&1 || { echo "check.sh: java is missing (Debian default-jre-headless)" >&2; exit 2; }
[ -r "$jar" ] || { echo "check.sh: Saxon-HE is missing: no '$jar' (Debian libsaxonhe-java, or set SAXON_JAR)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/in" "$work/en" "$work/peppol"
bad=0 i=0
: >"$work/invoices"
: >"$work/credit_notes"
for f in "$@"; do
	i=$((i + 1))
	[ -r "$f" ] || { echo "$f: cannot be read"; bad=1; continue; }
	root=$(sed -n '2,3{s/^<\([A-Za-z]*\)[ >].*/\1/p}' "$f" | head -n 1)
	case $root in
	Invoice) echo "$f" >>"$work/invoices" ;;
	CreditNote) echo "$f" >>"$work/credit_notes" ;;
	*) echo "$f: XSD: the root element is not Invoice or CreditNote"; bad=1; continue ;;
	esac
	# Saxon transforms a folder at once: one JVM per rule set.
	cp "$f" "$work/in/$i.xml"
	echo "$f" >"$work/in/$i.name"
done
# One xmllint per schema (compiling the UBL schemas is the slow part):
# every line but "FILE validates" is a problem, named by its file.
for kind in invoices credit_notes; do
	[ -s "$work/$kind" ] || continue
	case $kind in
	invoices) xsd="$here/ubl-2.1/xsd/maindoc/UBL-Invoice-2.1.xsd" ;;
	credit_notes) xsd="$here/ubl-2.1/xsd/maindoc/UBL-CreditNote-2.1.xsd" ;;
	esac
	# shellcheck disable=SC2046
	if ! xmllint --nonet --noout --schema "$xsd" $(cat "$work/$kind") >"$work/xsd.log" 2>&1; then
		grep -v ' validates$' "$work/xsd.log" | sed 's/^/XSD: /'
		bad=1
	fi
done
if ls "$work/in/"*.xml >/dev/null 2>&1; then
	for set in en peppol; do
		case $set in
		en) xsl="$here/en16931/EN16931-UBL-validation.xslt" ;;
		peppol) xsl="$here/peppol/PEPPOL-EN16931-UBL.xslt" ;;
		esac
		mkdir -p "$work/$set.in" && cp "$work/in/"*.xml "$work/$set.in/"
		if ! java -cp "$jar" net.sf.saxon.Transform -s:"$work/$set.in" -xsl:"$xsl" -o:"$work/$set" \
			>"$work/$set.log" 2>&1; then
			echo "check.sh: Saxon failed with '$xsl':" >&2
			cat "$work/$set.log" >&2
			exit 2
		fi
	done
	for svrl in "$work"/en/*.xml "$work"/peppol/*.xml; do
		n=$(basename "$svrl" .xml)
		name=$(cat "$work/in/$n.name")
		# Each failed assertion: its flag, id and text on one line.
		xmllint --nonet --xpath '//*[local-name()="failed-assert"]' "$svrl" 2>/dev/null |
			tr '\n' ' ' | sed 's#</svrl:failed-assert>#&\n#g; s#</failed-assert>#&\n#g' >"$work/fa"
		while IFS= read -r a; do
			[ -n "$a" ] || continue
			flag=$(echo "$a" | sed -n 's/.*flag="\([^"]*\)".*/\1/p')
			id=$(echo "$a" | sed -n 's/.*[^-]id="\([^"]*\)".*/\1/p')
			text=$(echo "$a" | sed 's/.*<[a-z:]*text>\(.*\)<\/[a-z:]*text>.*/\1/; s/[[:space:]]\{2,\}/ /g')
			if [ "$flag" = fatal ]; then
				echo "$name: $id: $text"
				bad=1
			elif [ $verbose = 1 ]; then
				echo "$name: $id ($flag): $text"
			fi
		done <"$work/fa"
	done
fi
exit $bad
