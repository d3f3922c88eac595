"""Publishing: the quality gate's verdict, then the analysts' and auditors' databases."""

from orchestration.publish.publisher import PublishBlocked, PublishError, PublishResult, publish

__all__ = ["PublishBlocked", "PublishError", "PublishResult", "publish"]
