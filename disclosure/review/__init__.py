"""Review: the reviewer's and supervisor's pages over the review workflow."""
