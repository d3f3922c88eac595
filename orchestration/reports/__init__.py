"""Reports for people: the auditors' findings workbook."""

from orchestration.reports.workbook import write_findings_workbook

__all__ = ["write_findings_workbook"]
