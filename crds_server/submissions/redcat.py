"""ReDCaT (Extended Batch Submit, feature S3): the questions asked of a deliverer.

The same list drives the web form and `/submission_form/redcat_description.yml`,
which `crds submit` reads to learn which answers it must send (contract §5.9).
"""

from __future__ import annotations

REDCAT_FIELDS = [
    ("deliverer", "CharField", True, "Name of the person delivering the files"),
    ("other_email", "CharField", False, "Other e-mail addresses to notify"),
    ("instrument", "CharField", True, "Instrument of the files"),
    ("file_type", "CharField", True, "Reference file type(s)"),
    ("history_updated", "TypedChoiceField", True, "History keywords updated?"),
    ("pedigree_updated", "TypedChoiceField", True, "PEDIGREE keywords updated?"),
    ("keywords_checked", "TypedChoiceField", True, "Matching keywords checked?"),
    ("descrip_updated", "TypedChoiceField", True, "DESCRIP keywords updated?"),
    ("useafter_updated", "TypedChoiceField", True, "USEAFTER dates checked?"),
    ("useafter_matches", "TypedChoiceField", True, "USEAFTER dates match the rules?"),
    ("compliance_verified", "TypedChoiceField", True, "Compliance verified?"),
    ("ingest_files", "TypedChoiceField", True, "Files to be ingested by the archive?"),
    ("etc_delivery", "TypedChoiceField", True, "Delivery for the exposure time calculator?"),
    ("calpipe_version", "CharField", False, "Calibration software version tested with"),
    ("replacement_files", "TypedChoiceField", True, "Do the files replace older ones?"),
    ("old_reference_files", "CharField", False, "Files replaced"),
    ("replacing_badfiles", "TypedChoiceField", True, "Do they replace bad files?"),
    ("jira_issue", "CharField", False, "Related issue"),
    ("table_rows_changed", "CharField", False, "Table rows changed"),
    ("modes_affected", "CharField", False, "Modes affected"),
    ("correctness_testing", "CharField", False, "How correctness was tested"),
    ("additional_considerations", "CharField", False, "Anything else"),
]


def description_yaml() -> str:
    """The form description as YAML, one entry per question."""
    lines = []
    for key, kind, required, label in REDCAT_FIELDS:
        lines += [f"- key: {key}", f"  type: {kind}", f"  required: {str(required).lower()}",
                  f"  label: {label}"]
        if kind == "TypedChoiceField":
            lines += ["  choices: ['N/A', 'No', 'Yes']", "  initial: 'N/A'"]
    return "\n".join(lines) + "\n"
