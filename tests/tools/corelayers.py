#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""corelayers.py - checks that core/ is layered: no call goes up, no files call each other round a loop.

The layer table is read from the comment at the top of core/internal.h (lines `layer NAME: file file ...`, the
bottom layer first), so the documentation and the check are one text.  The call
graph between core files comes from the object files: a file depends on another when it has an undefined symbol the
other defines (`nm`), which catches every cross-file call and data reference whatever the source looks like.
Quoted #includes between core/ files must not loop either.

The boot module (efi/) and the tool (host/) have no layer table, but the same rule against loops between files:
--cycles SRCDIR OBJDIR checks the objects of SRCDIR's .c files (a stale object whose source is gone is left out)
and names the loop, with the symbol behind each call, when there is one.  --add-call FILE:FILE adds one call to the
graph read from the objects (the suite uses it to show that the check can fail on the real objects).

Usage: corelayers.py [--table core/internal.h] [--src core] [--reverse] OBJDIR
       corelayers.py --cycles SRCDIR [--add-call FROM:TO] OBJDIR
       corelayers.py --selftest
Prints `ok - ...` / `not ok - ...` lines; exits 1 on any violation.  --reverse reads the table upside down (the
suite uses it to show that the check can fail on the real objects).
"""
import os
import re
import subprocess
import sys

LAYER_RE = re.compile(r'^\s*\*?\s*layer\s+([a-z0-9_]+):\s+([a-z0-9_ ]+?)(?:\s{2,}.*)?$')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_table(path):
    """[(layer, [file, ...]), ...] from the bottom layer up."""
    layers = []
    with open(path) as f:
        for line in f:
            m = LAYER_RE.match(line.rstrip())
            if m:
                layers.append((m.group(1), m.group(2).split()))
    return layers


def symbols(objdir, srcdir=None):
    """{file: (defined set, undefined set)} for every object (with srcdir: only those of a srcdir/NAME.c)."""
    out = {}
    for name in sorted(os.listdir(objdir)):
        if not name.endswith('.o'):
            continue
        if srcdir and not os.path.exists(os.path.join(srcdir, name[:-2] + '.c')):
            continue
        path = os.path.join(objdir, name)
        text = subprocess.run(['nm', path], check=True, capture_output=True, text=True).stdout
        defined, undefined = set(), set()
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == 'U':
                undefined.add(parts[1])
            elif len(parts) == 3 and parts[1] in 'TDBRVWGS':
                defined.add(parts[2])
        out[name[:-2]] = (defined, undefined)
    return out


def call_graph(syms):
    owner = {}
    for f, (defined, _) in syms.items():
        for s in defined:
            owner[s] = f
    graph = {f: {} for f in syms}
    for f, (_, undefined) in syms.items():
        for s in undefined:
            g = owner.get(s)
            if g and g != f:
                graph[f].setdefault(g, s)  # one symbol names the edge in messages
    return graph


def include_graph(src):
    graph = {}
    for name in sorted(os.listdir(src)):
        if name.endswith(('.c', '.h')):
            with open(os.path.join(src, name)) as f:
                graph[name] = {inc: inc for inc in INCLUDE_RE.findall(f.read())
                               if os.path.exists(os.path.join(src, inc))}
    return graph


def find_cycle(graph):
    """One cycle as a list of nodes, or None (iterative DFS, colours)."""
    colour = {n: 0 for n in graph}
    for root in sorted(graph):
        if colour[root]:
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            if colour.get(nxt, 2) == 1:
                return path[path.index(nxt):] + [nxt]
            if colour.get(nxt, 2) == 0:
                colour[nxt] = 1
                stack.append((nxt, iter(sorted(graph[nxt]))))
                path.append(nxt)
    return None


def check(graph, layers, incs):
    """List of (ok, message) results."""
    rank = {}
    for i, (_, files) in enumerate(layers):
        for f in files:
            rank[f] = i
    results = []
    missing = sorted(f for f in graph if f not in rank)
    results.append((not missing and bool(layers),
                    'every core object has a layer' if not missing and layers else
                    'core objects without a layer in the table: %s' % ' '.join(missing or ['(no table)'])))
    upward = []
    for f in sorted(graph):
        for g, sym in sorted(graph[f].items()):
            if f in rank and g in rank and rank[g] > rank[f]:
                upward.append('%s (layer %s) calls %s in %s (layer %s)' %
                              (f, layers[rank[f]][0], sym, g, layers[rank[g]][0]))
    results.append((not upward, 'no call goes up a layer' if not upward else 'upward calls: ' + '; '.join(upward)))
    cyc = find_cycle(graph)
    results.append((cyc is None, 'no call cycle between core files' if cyc is None else
                    'call cycle: ' + ' -> '.join('%s' % n for n in cyc)))
    if incs is not None:
        cyc = find_cycle(incs)
        results.append((cyc is None, 'no include cycle between core files' if cyc is None else
                        'include cycle: ' + ' -> '.join(cyc)))
    return results


def describe_cycle(graph, cyc):
    """'a -> b -> a (a calls f in b; b calls g in a)'"""
    calls = ['%s calls %s in %s' % (a, graph[a][b], b) for a, b in zip(cyc, cyc[1:])]
    return '%s (%s)' % (' -> '.join(cyc), '; '.join(calls))


def check_cycles(srcdir, objdir, extra):
    """File-level cycle check of one directory's objects; returns the exit status."""
    graph = call_graph(symbols(objdir, srcdir))
    if not graph:
        print('not ok - cycles: no object files of %s/*.c in %s' % (srcdir, objdir))
        return 1
    for a, b in extra:
        graph.setdefault(a, {})[b] = '(added call)'
        graph.setdefault(b, {})
    cyc = find_cycle(graph)
    if cyc is None:
        print('ok - cycles: no call cycle between the %d files of %s/ (%s)' % (len(graph), srcdir, objdir))
        return 0
    print('not ok - cycles: %s/: call cycle: %s' % (srcdir, describe_cycle(graph, cyc)))
    return 1


def selftest():
    layers = [('leaf', ['a']), ('mid', ['b', 'c']), ('top', ['d'])]
    cases = [
        ('a clean graph passes', {'a': {}, 'b': {'a': 's'}, 'c': {'b': 's'}, 'd': {'c': 's', 'a': 's'}}, True),
        ('an upward call fails', {'a': {'b': 's'}, 'b': {}, 'c': {}, 'd': {}}, False),
        ('a cycle inside a layer fails', {'a': {}, 'b': {'c': 's'}, 'c': {'b': 's'}, 'd': {}}, False),
        ('a file missing from the table fails', {'a': {}, 'b': {}, 'c': {}, 'd': {}, 'e': {}}, False),
    ]
    bad = 0
    for name, graph, want in cases:
        got = all(ok for ok, _ in check(graph, layers, None))
        print('%s - selftest: %s' % ('ok' if got == want else 'not ok', name))
        bad += got != want
    cyc = find_cycle({'x.h': {'y.h': 1}, 'y.h': {'z.h': 1}, 'z.h': {'x.h': 1}})
    print('%s - selftest: an include loop of three headers is found' % ('ok' if cyc else 'not ok'))
    bad += not cyc
    g = {'main': {'con': 'con_say'}, 'con': {'glob': 'g_st'}, 'glob': {'main': 'efi_status_of'}, 'leaf': {}}
    text = describe_cycle(g, find_cycle(g) or ['none'])
    want = 'con -> glob -> main -> con (con calls g_st in glob; glob calls efi_status_of in main; main calls con_say in con)'
    print('%s - selftest: a loop of three files is named with the symbol behind each call%s' %
          ('ok' if text == want else 'not ok', '' if text == want else ': got ' + text))
    bad += text != want
    return 1 if bad else 0


def main(argv):
    if argv[1:] == ['--selftest']:
        return selftest()
    table, src, reverse, objdir, cycles, extra = 'core/internal.h', 'core', False, None, None, []
    args = argv[1:]
    while args:
        a = args.pop(0)
        if a == '--table':
            table = args.pop(0)
        elif a == '--src':
            src = args.pop(0)
        elif a == '--reverse':
            reverse = True
        elif a == '--cycles':
            cycles = args.pop(0)
        elif a == '--add-call':
            extra.append(tuple(args.pop(0).split(':', 1)))
        else:
            objdir = a
    if not objdir:
        print(__doc__, file=sys.stderr)
        return 2
    if cycles:
        return check_cycles(cycles, objdir, extra)
    layers = read_table(table)
    if reverse:
        layers.reverse()
    graph = call_graph(symbols(objdir))
    if not graph:
        print('not ok - layers: no object files in %s' % objdir)
        return 1
    bad = 0
    for ok, msg in check(graph, layers, include_graph(src)):
        print('%s - layers: %s' % ('ok' if ok else 'not ok', msg))
        bad += not ok
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
