"""Exception hierarchy shared by every Lemmagraph package.

Library code raises these; only the command line turns them into a one-line
message and an exit status.
"""


class LemmagraphError(Exception):
    """Root of every error that Lemmagraph raises on purpose."""


class PdfError(LemmagraphError):
    """A PDF could not be read: not a PDF, damaged, encrypted or without text."""


class GraphStoreError(LemmagraphError):
    """The graph store failed or contains something other than what was requested."""


class NotFoundError(GraphStoreError):
    """A book or item named by the user does not exist in the store."""


class RetrievalError(LemmagraphError):
    """Embedding or vector search failed."""


class LlmError(LemmagraphError):
    """The language-model endpoint is missing, failed or returned an unusable answer."""


class LeanCheckError(LemmagraphError):
    """A Lean target could not be written or checked."""
