/*
 * cmd_xbrl.c - `billrun xbrl validate FILE`: XSD validation of an XBRL
 * instance against its taxonomy, offline, and the checks XSD cannot make;
 * of an XBRL GL journal against the GL schemas, and every entry's balance.
 */
#include "cli.h"
#include "xbrl.h"
#include "xbrl_gl.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int xbrl_validate_cmd(struct cli *cli, int argc, char **argv, struct err *e)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'c' }, { "iso-codes", required_argument, NULL, 'i' }, { 0 }
	};
	const char *catalog = NULL, *iso = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "c:i:", opts, NULL)) != -1) {
		if (c == 'c')
			catalog = optarg;
		else if (c == 'i')
			iso = optarg;
		else
			return cli_usage_error(e, "xbrl", "bad option for 'xbrl validate'");
	}
	if (optind + 1 != argc)
		return cli_usage_error(e, "xbrl", "'xbrl validate' needs one FILE");
	static struct xbrl_check r; /* 20 kB of problem texts */
	if (xbrl_gl_is_instance(argv[optind])) {
		/* the journal: XSD against the GL schemas, and every entry's balance */
		if (xbrl_gl_validate_file(argv[optind], catalog, &r, e)) {
			for (int i = 0; i < r.nproblems && i < XBRL_MAX_PROBLEMS; i++)
				printf("problem: %s\n", r.problems[i]);
			return -1;
		}
		printf("%s: valid XBRL GL journal (%d entries, each balanced; XSD and billrun's checks)\n", argv[optind],
		       r.facts);
		return 0;
	}
	if (xbrl_validate_file(argv[optind], catalog, iso, &r, e)) {
		for (int i = 0; i < r.nproblems && i < XBRL_MAX_PROBLEMS; i++)
			printf("problem: %s\n", r.problems[i]);
		return -1;
	}
	printf("%s: valid XBRL 2.1 instance (%d facts; XSD, billrun's checks and the calculations)\n", argv[optind], r.facts);
	return 0;
}

static int xbrl_main(struct cli *cli, int argc, char **argv, struct err *e)
{
	if (argc < 2)
		return cli_usage_error(e, "xbrl", "'xbrl' needs a subcommand: validate");
	if (strcmp(argv[1], "validate") == 0)
		return xbrl_validate_cmd(cli, argc - 1, argv + 1, e);
	return cli_usage_error(e, "xbrl", "unknown subcommand 'xbrl %s'", argv[1]);
}

const struct command cmd_xbrl = {
	"xbrl", xbrl_main, "validate an XBRL instance",
	"usage: billrun xbrl validate FILE [--catalog CATALOG] [--iso-codes JSON]\n"
	"\n"
	"Validate an XBRL 2.1 instance (the xbrl step writes one per period into\n"
	"the run's xbrl/ folder, with the taxonomy beside it):\n"
	"  * against the taxonomy built into billrun (each link:schemaRef must\n"
	"    name billrun-2026.xsd; a copy in the instance's folder, or a local\n"
	"    file a schemaRef names, that differs from it is refused)\n"
	"    and, through it, the official XBRL 2.1 schemas. These are read\n"
	"    through an XML catalog, never from the network: --catalog, else\n"
	"    $XML_CATALOG_FILES (the copies in ../shared/xbrl come with\n"
	"    catalog.xml);\n"
	"  * with the checks XSD cannot make: every contextRef and unitRef\n"
	"    resolves, numeric facts carry decimals (not precision as well),\n"
	"    each fact's period type (instant or duration) is its concept's, a\n"
	"    duration ends later than it starts, monetary units are one ISO 4217\n"
	"    currency and every iso4217: code is a current one (from Debian's\n"
	"    iso-codes, or --iso-codes JSON), no fact is reported twice with\n"
	"    different values in contexts of the same entity, segment,\n"
	"    scenario and period, whatever their ids\n"
	"    (numbers compared at the lower of their decimals).\n"
	"An XBRL GL instance (the xbrl step's journal, billrun-DAG-PERIOD-gl.xbrl)\n"
	"is checked instead against the XBRL GL 2016-12-01 schemas, named by its\n"
	"link:schemaRef and read through the catalog (reports/xbrl-gl-catalog.xml\n"
	"maps them to ../shared/xbrl/gl), and every entry must balance: its\n"
	"debits add up to its credits exactly, all in one currency; an entry\n"
	"that does not is named by its entry and document number.\n"
	"Every problem is printed with its line. Needs no configuration.\n"
	"\n"
	"Exit status: 0 valid; 65 not valid (a journal: also an entry that does\n"
	"not balance); 74 the file cannot be read; 78 the taxonomy or the XBRL\n"
	"(or XBRL GL) schemas cannot be loaded.\n"
};
