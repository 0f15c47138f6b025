"""The HTML report shows what concerns outputs together: the differencing check and the
researcher's comments, escaped like everything else on the page."""

from __future__ import annotations

import warnings

import pandas as pd

import sdc
from sdc.differencing.report import add_to_report
from sdc.release import build_report, render_html
from sdc.release.report import annotate


def _two_cohorts() -> sdc.Session:
    """All patients, and all but the 3 over 90: each table passes, their difference does not."""
    df = pd.DataFrame({"region": ["N"] * 40 + ["S"] * 43, "age": [50] * 80 + [95] * 3})
    s = sdc.Session()
    s.crosstab(df.region, name="all")
    s.crosstab(df[df.age < 90].region, name="under_90")
    return s


def test_the_differencing_check_and_comments_are_on_the_page() -> None:
    s = _two_cohorts()
    result = s.check_differencing()
    assert result.findings and all(o.status is sdc.Status.PASS for o in s.outputs.values())
    report = add_to_report(build_report(list(s.outputs.values()), s.ruleset_), result)
    report = annotate(report, {}, [(None, "<script>alert(1)</script> tables for chapter 3")])
    page = render_html(report)
    section = page.split('<section id="differencing">', 1)[1].split("</section>", 1)[0]
    assert "<li>differencing -&gt; FAIL</li>" in section and "<li></li>" not in section
    assert "region S" in section and "3 record(s)" in section
    assert "all[region=S] - under_90[region=S]" in section  # the combination that derives it
    comments = page.split('<section id="comments">', 1)[1].split("</section>", 1)[0]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in comments


def test_a_passing_check_adds_no_section() -> None:
    df = pd.DataFrame({"region": ["N"] * 40 + ["S"] * 43})
    s = sdc.Session()
    s.crosstab(df.region, name="all")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = add_to_report(build_report(list(s.outputs.values()), s.ruleset_),
                               s.check_differencing())  # fmt: skip
    page = render_html(report)
    assert 'id="differencing"' not in page and 'id="comments"' not in page
