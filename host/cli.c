/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.c - what every subcommand shares on its command line and its standard error: option handling around
 * getopt_long, "vhdx: NAME: message" lines, and the exit codes a core status maps to.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

int host_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhdx: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vhdx %s --help')\n", cmd);
	return EXIT_USAGE;
}

int host_opt_common(const char *cmd, int c, const char *text, char **argv)
{
	switch (c) {
	case 'h':
		fputs(text, stdout);
		return fflush(stdout) ? EXIT_USAGE : 0;
	case 'V':
		fputs(HOST_VERSION_LINE, stdout);
		return fflush(stdout) ? EXIT_USAGE : 0;
	case ':':
		return host_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
	default: {
		const char *a = optind > 0 ? argv[optind - 1] : NULL;
		if (a && a[0] == '-' && a[1] == '-')
			return host_usage_error(cmd, "unknown option '%s'", a);
		return host_usage_error(cmd, "unknown option '-%c'", optopt);
	}
	}
}

int host_simple_args(const char *cmd, const char *text, int argc, char **argv, int want, int *first)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		return host_opt_common(cmd, c, text, argv);
	if (argc - optind != want)
		return host_usage_error(cmd, "expected %d operand%s, got %d", want, want == 1 ? "" : "s", argc - optind);
	*first = optind;
	return -1;
}

void host_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhdx: %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int host_exit_code(vhdx_status st)
{
	switch (st) {
	case VHDX_OK:
		return EXIT_SOUND;
	case VHDX_E_IO:
	case VHDX_E_NOMEM:
	case VHDX_E_ARG:
		return EXIT_USAGE;
	default:
		return EXIT_BAD;
	}
}

int host_report(const char *name, vhdx_status st, const char *msg, const struct host_file *f)
{
	const char *text = msg && msg[0] ? msg : vhdx_status_message(st);

	if ((st == VHDX_E_IO || st == VHDX_E_NOMEM) && f && f->err)
		host_error(name, "%s: %s", text, strerror(f->err));
	else
		host_error(name, "%s", text);
	return host_exit_code(st);
}
