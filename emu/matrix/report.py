"""Reports of a matrix run: a summary for people, JUnit XML for CI."""
import collections
import xml.etree.ElementTree as ET

TAIL = 2000


def counts(results):
    c = collections.Counter(r.status for r in results)
    return {s: c.get(s, 0) for s in ("passed", "failed", "timeout", "error")}


def summary_line(results, wall=None):
    c = counts(results)
    line = "%d tests: %s" % (len(results), ", ".join("%d %s" % (n, s) for s, n in c.items()))
    if wall is not None:
        line += " in %.1fs" % wall
    return line


def failure_report(r):
    """A few lines about a case that did not pass."""
    lines = ["%s %s  (%.1fs, %s)" % (r.status.upper(), r.name, r.duration, r.worker)]
    if r.message:
        lines.append("  " + r.message)
    if r.exit_status is not None and "exit status" not in r.message:
        lines.append("  exit status %d" % r.exit_status)
    if r.output:
        lines.append("  --- output ---")
        lines += ["  " + l for l in r.output[-TAIL:].splitlines()]
    elif r.console and r.status in ("timeout", "error"):
        lines.append("  --- console (tail) ---")
        lines += ["  " + l for l in r.console[-TAIL:].splitlines()[-25:]]
    if r.log_path:
        lines.append("  console log: %s" % r.log_path)
    return "\n".join(lines)


def _clean(text):
    # XML 1.0 allows no control characters but tab, newline and carriage return
    return "".join(c if c in "\t\n\r" or ord(c) >= 32 else "\ufffd" for c in text or "")


def write_junit(results, path, name="pyemu-test"):
    """JUnit XML: one testsuite, a testcase per case (classname = configuration)."""
    c = counts(results)
    suite = ET.Element("testsuite", name=name, tests=str(len(results)),
                       failures=str(c["failed"]), errors=str(c["error"] + c["timeout"]), skipped="0",
                       time="%.3f" % sum(r.duration for r in results))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r.config, name=r.test, time="%.3f" % r.duration)
        if r.status == "failed":
            ET.SubElement(case, "failure", message=_clean(r.message), type="failed").text = _clean(r.output)
        elif r.status in ("timeout", "error"):
            ET.SubElement(case, "error", message=_clean(r.message), type=r.status).text = \
                _clean(r.console[-TAIL * 4:])
        ET.SubElement(case, "system-out").text = _clean(r.output)
        if r.status != "passed":
            ET.SubElement(case, "system-err").text = _clean(r.console)
    tree = ET.ElementTree(ET.Element("testsuites"))
    tree.getroot().append(suite)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
