"""The release stage: the request folder, the gate and the reports.

What ``finalise`` writes (released files in their one serialisation, evidence, the
manifest with every file's digest and every output's definition, its signature),
the gate that re-checks a folder with the operator's rules and trusts nothing in
it (links, caps, canonical bytes, signatures, recomputation from data), and the
JSON, text and HTML reports. Sits on top of the output kinds and may import any of
them; never the session or the command line.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "CustomOutput": "sdc.release.custom",
        "build_report": "sdc.release.report",
        "check_folder": "sdc.release.gate",
        "generate_keys": "sdc.release.signing",
        "operator_rules": "sdc.release.gate",
        "render_html": "sdc.release.html_report",
        "report_schema": "sdc.release.report",
        "text_report": "sdc.release.report",
        "write_bundle": "sdc.release.bundle",
        "write_html_report": "sdc.release.html_report",
    },
)

if TYPE_CHECKING:
    from sdc.release.bundle import write_bundle
    from sdc.release.custom import CustomOutput
    from sdc.release.gate import check_folder, operator_rules
    from sdc.release.html_report import render_html, write_html_report
    from sdc.release.report import build_report, report_schema, text_report
    from sdc.release.signing import generate_keys
