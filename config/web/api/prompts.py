"""Prompts: list them, play them in the browser, upload a recording, synthesise a placeholder.

    GET  /api/prompts                                  viewer+  every prompt x site language
    GET  /api/prompts/{name}/{language}.wav            viewer+  the audio (8 kHz 16-bit WAV)
    GET  /api/prompts/units/{language}/{unit}.wav      viewer+  a speech unit's audio (num/2)
    PUT  /api/prompts/{name}/{language}                admin    multipart field ``file``
    POST /api/prompts/{name}/{language}/synthesise     admin    {"text": ...}

Uploads: at most 10 MB (``link.MAX_PROMPT_UPLOAD``); WAV, FLAC or MP3 told by the content
(the file name and the declared type are ignored); transcoded to 8 kHz at the prompts' level;
the name is a prompt name of the document (letters, digits, ``_ . ^ -``, not starting with
a dot, no ``/``), never a path. The running appliance plays the new audio from the next
playback on. Each upload and synthesis is in the audit log with who did it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.auth import AdminUser, AnyUser
from branchline.config.web.errors import api_error
from branchline.config.web.link import MAX_PROMPT_UPLOAD

__all__ = ["PromptOut", "router"]

router = APIRouter(tags=["prompts"])


class PromptOut(BaseModel):
    name: str
    language: str
    source: str = Field(description="recorded or synthesised")
    duration_s: float | None
    text: str | None = None
    in_document: bool = True


class SynthesiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)


@router.get("/api/prompts", summary="Every prompt in every site language")
def prompts(request: Request, user: AnyUser) -> list[PromptOut]:
    return [PromptOut(**row) for row in request.app.state.link.prompt_list()]


@router.get("/api/prompts/{name}/{language}.wav", summary="A prompt's audio, for the browser",
            response_class=Response, responses={200: {"content": {"audio/wav": {}}}})
def prompt_audio(name: str, language: str, request: Request,
                 user: AnyUser) -> Response:
    data = request.app.state.link.prompt_audio(name, language)
    return Response(data, media_type="audio/wav", headers={"Cache-Control": "no-cache"})


@router.get("/api/prompts/units/{language}/{unit:path}.wav",
            summary="A speech unit's audio (num/2, money/yuan), for Try it",
            response_class=Response, responses={200: {"content": {"audio/wav": {}}}})
def unit_audio(language: str, unit: str, request: Request, user: AnyUser) -> Response:
    data = request.app.state.link.unit_audio(unit, language)
    return Response(data, media_type="audio/wav", headers={"Cache-Control": "no-cache"})


@router.put("/api/prompts/{name}/{language}", summary="Upload a recording (WAV, FLAC, MP3)")
def upload(name: str, language: str, request: Request,
           file: Annotated[UploadFile, File(description="WAV, FLAC or MP3, at most 10 MB")],
           user: AdminUser) -> PromptOut:
    data = file.file.read(MAX_PROMPT_UPLOAD + 1)
    if not data:
        raise api_error(422, "empty_upload", f"prompt {name!r} ({language}): the uploaded file "
                        "is empty; choose a WAV, FLAC or MP3 recording")
    result = request.app.state.link.store_prompt(name, language, data, user.name)
    return PromptOut(**result)


@router.post("/api/prompts/{name}/{language}/synthesise",
             summary="Make a synthesised placeholder from text")
def synthesise(name: str, language: str, body: SynthesiseIn, request: Request,
               user: AdminUser) -> PromptOut:
    result = request.app.state.link.synthesise_prompt(name, language, body.text, user.name)
    return PromptOut(**result)
