#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mancheck.py - the manual pages against what the programs say about themselves, both ways.

  vhdx(1)          every command in `vhdx --help` has a "## vhdx COMMAND" subsection and the reverse; every long
                   option in `vhdx COMMAND --help` is a term (a line starting "*--") of that subsection and the
                   reverse; --help and --version are terms of the OPTIONS section
  vhdxboot(8)      every option in the module's usage text (options_usage in efi/options.c) is a term of OPTIONS
                   and the reverse
  vhdxboot.conf(5) every key of the module's key table (keys[] in efi/optparse.c) is a term of KEYS and the reverse

Prints `ok - manpages: ...` / `not ok - manpages: ...: what is missing where`, so after a merge it names the
options a page lacks.  Usage: mancheck.py VHDX ROOT
"""
import re
import subprocess
import sys

VHDX, ROOT = sys.argv[1], sys.argv[2]
COMMON = {"--help", "--version"}
failed = 0


def report(name, help_set, man_set, help_where, man_where):
    global failed
    only_help = sorted(help_set - man_set)
    only_man = sorted(man_set - help_set)
    if not help_set:
        print(f"not ok - manpages: {name}: nothing found in {help_where} (the parser no longer fits it)")
        failed += 1
    elif only_help or only_man:
        why = []
        if only_help:
            why.append(f"in {help_where} but not in {man_where}: {' '.join(only_help)}")
        if only_man:
            why.append(f"in {man_where} but not in {help_where}: {' '.join(only_man)}")
        print(f"not ok - manpages: {name}: {'; '.join(why)}")
        failed += 1
    else:
        print(f"ok - manpages: {name}: {len(help_set)} the same in {help_where} and {man_where}")


def sections(path, level):
    """{heading: [lines]} for the headings of the given level ('#' or '##') of an scdoc file."""
    out, cur = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        m = re.match(r"^(#+) (.*)$", line)
        if m and len(m.group(1)) <= len(level):
            cur = m.group(2) if m.group(1) == level else None
            if cur is not None:
                out[cur] = []
            continue
        if cur is not None:
            out[cur].append(line)
    return out


def term_options(lines):
    """Long options named by the term lines (a line starting with "*-") of a section."""
    opts = set()
    for line in lines:
        if line.startswith("*-"):
            opts.update(o for o in re.findall(r"\*(--[a-z][a-z0-9-]*)\*", line))
    return opts


def help_options(text):
    """Long options in the option list of a --help text (lines indented by a few spaces, starting with '-')."""
    opts = set()
    for line in text.splitlines():
        m = re.match(r"^ {1,4}(?:-\w, )?(--[a-z][a-z0-9-]*)", line)
        if m:
            opts.add(m.group(1))
    return opts


def run_help(*args):
    global failed
    try:
        return subprocess.run([VHDX, *args, "--help"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"not ok - manpages: vhdx {' '.join(args)} --help: {e}")
        failed += 1
        return ""


# vhdx(1)
page = f"{ROOT}/man/vhdx.1.scd"
top = run_help()
cmds = set()
in_cmds = False
for line in top.splitlines():
    if line.startswith("Commands:"):
        in_cmds = True
        continue
    if in_cmds and not line.strip():
        in_cmds = False
    m = re.match(r"^  ([a-z][a-z0-9-]*)\b", line) if in_cmds else None
    if m:
        cmds.add(m.group(1))
subs = sections(page, "##")
man_cmds = {}
for heading, lines in subs.items():
    m = re.match(r"^vhdx ([a-z][a-z0-9-]*)", heading)
    if m:
        man_cmds[m.group(1)] = lines
report("vhdx commands", cmds, set(man_cmds), "vhdx --help", "man/vhdx.1.scd")
top_opts = help_options(top)
man_global = term_options(sections(page, "#").get("OPTIONS", []))
report("vhdx global options", top_opts, man_global, "vhdx --help", "vhdx.1 OPTIONS")
for c in sorted(cmds):
    h = help_options(run_help(c)) - COMMON
    m = term_options(man_cmds.get(c, [])) - COMMON
    # vhdx.1 says --help and --version work after every command
    v = subprocess.run([VHDX, c, "--version"], capture_output=True, text=True)
    if v.returncode != 0 or not v.stdout.startswith("vhdx "):
        print(f"not ok - manpages: vhdx {c} --version: exit {v.returncode}, not the version (vhdx.1 says it works)")
        failed += 1
    if not h and not m:
        print(f"ok - manpages: vhdx {c}: no options beyond --help/--version, in either")
        continue
    report(f"vhdx {c} options", h, m, f"vhdx {c} --help", f"vhdx.1 '## vhdx {c}'")

# vhdxboot(8): the module's usage text is a C string in options_usage()
src = open(f"{ROOT}/efi/options.c", encoding="utf-8").read()
fn = re.search(r"void options_usage\(void\)\s*\{(.*?)\n\}", src, re.S)
usage = ""
if fn:
    usage = "".join(bytes(s, "utf-8").decode("unicode_escape") for s in re.findall(r'"((?:[^"\\]|\\.)*)"', fn.group(1)))
module_opts = help_options(usage)
man8 = term_options(sections(f"{ROOT}/man/vhdxboot.8.scd", "#").get("OPTIONS", []))
report("vhdxboot.efi options", module_opts, man8, "options_usage() in efi/options.c", "vhdxboot.8 OPTIONS")

# vhdxboot.conf(5): the module's key table (the firmware-free option parser)
src = open(f"{ROOT}/efi/optparse.c", encoding="utf-8").read()
table = re.search(r"\bkeys\[\]\s*=\s*\{(.*?)\};", src, re.S)
keys = set(re.findall(r'\{\s*"([a-z][a-z0-9-]*)"', table.group(1))) if table else set()
man5 = set()
for line in sections(f"{ROOT}/man/vhdxboot.conf.5.scd", "#").get("KEYS", []):
    m = re.match(r"^\*([a-z][a-z0-9-]*)\*", line)
    if m:
        man5.add(m.group(1))
report("vhdxboot.conf keys", keys, man5, "keys[] in efi/optparse.c", "vhdxboot.conf.5 KEYS")

sys.exit(1 if failed else 0)
