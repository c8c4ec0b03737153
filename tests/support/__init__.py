"""Test helpers that drive real applications (headless LibreOffice) to edit and recalculate."""
