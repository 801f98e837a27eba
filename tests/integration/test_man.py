"""The man pages: splicer.cfg(5) is what doc/mkcfgman.py makes of the
parser's keyword tables (so it cannot drift from them), the generator
refuses a keyword without a description, every page is clean under
mandoc -T lint, and they point to the installed documentation."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import SPLICER, SRCDIR, Skip, check, on_cleanup, run, test

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(SPLICER)))
PAGES = ("src/splicer.8", "src/splicerctl.1", "src/splicer.cfg.5")


def generate(top):
    return subprocess.run([sys.executable, os.path.join(SRCDIR, "doc", "mkcfgman.py"), top],
                          capture_output=True, text=True, timeout=30)


def generate_with(edit):
    """The generator run on a copy of doc/ and of the parser's files, with
    src/conf_parse.c as edit(text) changes it."""
    top = tempfile.mkdtemp(prefix="splicer-man-")
    on_cleanup(lambda: shutil.rmtree(top, ignore_errors=True))
    shutil.copytree(os.path.join(SRCDIR, "doc"), os.path.join(top, "doc"))
    os.mkdir(os.path.join(top, "src"))
    src = open(os.path.join(SRCDIR, "src", "conf_parse.c")).read()
    open(os.path.join(top, "src", "conf_parse.c"), "w").write(edit(src))
    for f in ("conf_kw_global.c", "conf_kw_proxy.c", "conf_kw_server.c", "conf_resolvers.c"):  # the other tables
        shutil.copy(os.path.join(SRCDIR, "src", f), os.path.join(top, "src", f))
    return generate(top)


def built_pages():
    if not os.path.exists(os.path.join(BUILDDIR, "Makefile")):
        raise Skip("no Makefile next to %s" % SPLICER)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-C", BUILDDIR] + list(PAGES), capture_output=True, text=True,
                       env=env, timeout=60)
    check(r.returncode == 0, r.stdout + r.stderr)
    return [os.path.join(BUILDDIR, p) for p in PAGES]


@test
def test_cfg_page_is_generated_from_the_keyword_tables():
    r = generate(SRCDIR)
    check(r.returncode == 0, r.stderr)
    committed = open(os.path.join(SRCDIR, "src", "splicer.cfg.5.in")).read()
    check(r.stdout == committed, "src/splicer.cfg.5.in is stale: run "
          "python3 doc/mkcfgman.py > src/splicer.cfg.5.in")
    # Every keyword of the global and proxy tables has an entry.
    src = open(os.path.join(SRCDIR, "src", "conf_parse.c")).read()
    for table in ("global_kws", "proxy_kws"):
        body = re.search(r"%s\[\] = \{(.*?)\n\};" % table, src, re.S).group(1)
        for kw in re.findall(r'\{ "([^"]+)"', body):
            check(re.search(r"^\\fB%s\\fR" % re.escape(kw.replace("-", "\\-")), committed, re.M),
                  "keyword %s is not in the page" % kw)


@test
def test_generator_refuses_an_undocumented_keyword():
    r = generate_with(lambda src: src.replace(
        "static const struct kw global_kws[] = {\n", "static const struct kw global_kws[] = {\n"
        "\t{ \"a-brand-new\",     SEC_GLOBAL, kw_global_new },\n", 1))
    check(r.returncode != 0 and "global keyword 'a-brand-new'" in r.stderr and
          "no entry in doc/keywords.txt" in r.stderr, "exit %d: %s" % (r.returncode, r.stderr))


@test
def test_generator_refuses_an_unsorted_keyword_table():
    def swap(src):
        grace = re.search(r"\t\{ \"grace\",[^\n]*\n", src).group(0)
        group = re.search(r"\t\{ \"group\",[^\n]*\n", src).group(0)
        check(grace + group in src, "the test expects grace just before group")
        return src.replace(grace + group, group + grace)
    r = generate_with(swap)
    check(r.returncode != 0 and "global_kws is not sorted by name ('group' before 'grace')"
          in r.stderr, "exit %d: %s" % (r.returncode, r.stderr))


@test
def test_pages_are_lint_clean_and_point_to_installed_docs():
    if shutil.which("mandoc") is None:
        raise Skip("no mandoc (apt-get install mandoc)")
    pages = built_pages()
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "style"] + pages, capture_output=True,
                       text=True)
    check(r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    docdir = subprocess.run(["make", "-s", "--no-print-directory", "-C", BUILDDIR, "-f",
                             "Makefile", "-f", "-", "print-it"],
                            input="print-it:\n\t@echo '$(docdir)'\n", capture_output=True,
                            text=True, env=env).stdout.strip()
    check(docdir.startswith("/"), "docdir %r" % docdir)
    for p in pages:
        text = open(p).read()
        check("@" + "DOCDIR@" not in text and "@VERSION@" not in text, "%s: unfilled" % p)
        for m in re.finditer(r"\S*README\.md", text):
            check(m.group(0).startswith(docdir + "/"), "%s names %s, not the installed one"
                  % (p, m.group(0)))
        for section in ("FILES", "EXAMPLES") + (("ENVIRONMENT",) if not p.endswith(".5") else ()):
            check(re.search(r"^\.SH %s$" % section, text, re.M), "%s has no %s" % (p, section))


run()
