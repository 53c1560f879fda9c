/*
 * cmd_xbrl.c - `billrun xbrl validate FILE`: XSD validation of an XBRL
 * instance against its taxonomy, offline, and the checks XSD cannot make.
 */
#include "cli.h"
#include "xbrl.h"

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
	"Every problem is printed with its line. Needs no configuration.\n"
	"\n"
	"Exit status: 0 valid; 65 not valid; 74 the file cannot be read;\n"
	"78 the taxonomy or the XBRL schemas cannot be loaded.\n"
};
