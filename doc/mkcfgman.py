#!/usr/bin/env python3
"""Write splicer.cfg(5) (roff, with @DOCDIR@ and @VERSION@ for make to
fill in) to standard output: the keyword lists come from the parser's own
tables in src/conf_parse.c and src/conf_kw_*.c, each entry's syntax,
default and meaning from doc/keywords.txt. A keyword of the tables
without an entry, or an entry for a keyword the tables lack, is an
error: the page cannot drift from the parser.

    python3 doc/mkcfgman.py [SRCDIR] > src/splicer.cfg.5.in
"""
import os
import re
import sys

TOP = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SEC = {"SEC_GLOBAL": 0x01, "SEC_DEFAULTS": 0x02, "SEC_FRONTEND": 0x04, "SEC_BACKEND": 0x08,
       "SEC_LISTEN": 0x10}
SEC["SEC_ANY_PROXY"] = 0x02 | 0x04 | 0x08 | 0x10
SEC["SEC_FE_SIDE"] = 0x02 | 0x04 | 0x10
SEC["SEC_BE_SIDE"] = 0x02 | 0x08 | 0x10
SEC_NAMES = [(0x01, "global"), (0x02, "defaults"), (0x04, "frontend"), (0x08, "backend"),
             (0x10, "listen")]


def table(src, name):
    """The rows of `static const struct ... name[] = { ... };` as lists of
    their fields (strings unquoted)."""
    m = re.search(r"\b%s\[\]\s*=\s*\{(.*?)\n\};" % re.escape(name), src, re.S)
    if m is None:
        sys.exit("mkcfgman: no table %s in src/conf_parse.c or src/conf_kw_*.c" % name)
    body = m.group(1)
    rows = re.findall(r"\{\s*(\"[^\"]*\"(?:\s*,\s*[^{}]*?)?)\s*\}", body)
    if rows:
        return [[f.strip().strip('"') for f in re.split(r",\s*(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", r)]
                for r in rows]
    return [[w] for w in re.findall(r"\"([^\"]*)\"", body)]  # an array of strings


def sections(expr):
    bits = 0
    for word in re.split(r"\s*\|\s*", expr):
        if word not in SEC:
            sys.exit("mkcfgman: unknown section flag %r" % word)
        bits |= SEC[word]
    return ", ".join(n for b, n in SEC_NAMES if bits & b)


def entries(path):
    """{(table, keyword): {"syntax":..., "default":..., "text": [...]}}"""
    out, cur = {}, None
    for line in open(path).read().splitlines():
        if line.startswith("#") and cur is None:
            continue
        m = re.match(r"== (\w+) (\S+)$", line)
        if m:
            cur = {"syntax": None, "default": None, "text": []}
            if m.groups() in out:
                sys.exit("mkcfgman: %s %s described twice" % m.groups())
            out[m.groups()] = cur
        elif cur is not None and line.startswith("syntax: ") and cur["syntax"] is None:
            cur["syntax"] = line[8:]
        elif cur is not None and line.startswith("default: ") and cur["default"] is None:
            cur["default"] = line[9:]
        elif cur is not None and line.strip():
            cur["text"].append(line)
    for k, e in out.items():
        if not e["syntax"] or not e["default"] or not e["text"]:
            sys.exit("mkcfgman: %s %s needs syntax:, default: and a meaning" % k)
    return out


def roff_text(s):
    """A text line: minus signs as roff wants them (\\- already is one)."""
    return s if s.startswith(".") else re.sub(r"(?<!\\)-", r"\\-", s)


def roff_syntax(s):
    """Literal words bold, UPPER values italic, [ ] | ... roman."""
    out = []
    for tok in re.split(r"(\s+|[\[\]|]|\.\.\.)", s):
        if not tok or tok.isspace() or tok in "[]|" or tok == "...":
            out.append(tok.replace("...", "\\&..."))
            continue
        parts = re.split(r"([A-Z][A-Z0-9_]*(?:\[/[A-Z]+\])?)", tok)
        for p in parts:
            if not p:
                continue
            font = "I" if re.fullmatch(r"[A-Z][A-Z0-9_]*", p) else "B"
            out.append("\\f%s%s\\fR" % (font, roff_text(p)))
    return "".join(out)


def word_list(rows):
    """One word a line, comma-separated, the last with a full stop."""
    words = [r[0].replace("-", "\\-") for r in rows]
    return [w + ("," if i < len(words) - 1 else ".") for i, w in enumerate(words)]


def emit_kw(kind, name, where, desc):
    e = desc.pop((kind, name), None)
    if e is None:
        sys.exit("mkcfgman: %s keyword %r of src/conf_parse.c has no entry in doc/keywords.txt"
                 % (kind, name))
    # "stats socket ... | stats timeout ...": one tag line each.
    alts = re.split(r" \| (?=%s )" % re.escape(name), e["syntax"])
    lines = [".TP", roff_syntax(alts[0])]
    for a in alts[1:]:
        lines += [".TQ", roff_syntax(a)]
    if where:
        lines.append("In: %s." % where)
    lines.append("Default: %s." % roff_text(e["default"]).rstrip("."))
    lines.append(".br")
    lines += [roff_text(t) for t in e["text"]]
    return lines


def main():
    # The tables live with the parser: the section tables in conf_parse.c,
    # the timeout and option tables beside their handlers (conf_kw_*.c).
    src = "".join(open(os.path.join(TOP, "src", f)).read() for f in
                  ("conf_parse.c", "conf_kw_global.c", "conf_kw_proxy.c", "conf_kw_server.c",
                   "conf_resolvers.c"))
    desc = entries(os.path.join(TOP, "doc", "keywords.txt"))
    # parse_find_kw() searches these two by halves: out of order, a
    # keyword is reported unknown although it is there.
    for name in ("global_kws", "proxy_kws"):
        names = [r[0] for r in table(src, name)]
        for x, y in zip(names, names[1:]):
            if x.encode() >= y.encode():
                sys.exit("mkcfgman: src/conf_parse.c: %s is not sorted by name ('%s' before "
                         "'%s'): the parser's binary search would miss keywords" % (name, x, y))
    blocks = {
        "global": [l for r in table(src, "global_kws")
                   for l in emit_kw("global", r[0], None, desc)],
        "proxy": [l for r in table(src, "proxy_kws")
                  for l in emit_kw("proxy", r[0], sections(r[1]), desc)],
        "timeout": [l for r in table(src, "timeout_kws")
                    for l in emit_kw("timeout", r[0], sections(r[1]), desc)],
        "resolvers": [l for r in table(src, "resolvers_kws")
                      for l in emit_kw("resolvers", r[0], None, desc)],
        "option": [l for r in table(src, "option_kws")
                   for l in emit_kw("option", r[0], sections(r[2]), desc)],
        "unsupported": [l for r in table(src, "unsupported_kws")
                        for l in (".TP", "\\fB%s\\fR" % r[0].replace("-", "\\-"),
                                  roff_text(r[1]) + ".")],
        "inert": [l for r in table(src, "inert_kws")
                  for l in (".TP", "\\fB%s\\fR%s" % (r[0].replace("-", "\\-"),
                                                    "..." if r[0].endswith(".") else ""),
                            {"INERT_TLS": "TLS; in global.",
                             "INERT_HTTP": "HTTP\\-only; in proxy sections."}[r[2]])],
        "http_options": word_list(table(src, "http_options")),
        "later_options": word_list(table(src, "later_options")),
    }
    if desc:
        sys.exit("mkcfgman: doc/keywords.txt describes keywords the parser does not have: %s"
                 % ", ".join("%s %s" % k for k in sorted(desc)))
    for line in open(os.path.join(TOP, "doc", "splicer.cfg.5.src")).read().splitlines():
        m = re.fullmatch(r"@(\w+)", line)
        print("\n".join(blocks[m.group(1)]) if m else line)


main()
