"""Authoring forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired


class PackUploadForm(FlaskForm):
    """Upload a content pack as a .zip file."""

    archive = FileField("Content pack (.zip)", validators=[
        FileRequired("Choose a .zip file to upload."), FileAllowed(["zip"], "Upload a .zip file.")])
