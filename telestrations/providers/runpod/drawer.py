"""The RunPod drawer: one job per draw, polled until done, cancelled on stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from telestrations.providers.base import (
    ModelInfo,
    Picture,
    ProviderError,
    report_progress,
)
from telestrations.providers.http import (
    decode_base64_image,
    picture_from_bytes,
)
from telestrations.providers.runpod.jobs import (
    ImageRef,
    find_image,
    job_error,
    job_progress,
)
from telestrations.providers.runpod.workers import (
    CANCEL_TIMEOUT,
    LEGACY_NOTE,
    LEGACY_RETIRED,
    PENDING,
    POLL_GROWTH,
    STATUS_TIMEOUT,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from telestrations.providers.runpod import RunPodProvider

# -- the drawer ---------------------------------------------------------------------------------


@dataclass
class Target:
    """One model's endpoint: the URL prefix for runsync/status/cancel, and how to talk to it."""

    base: str
    label: str
    needs_key: bool
    status_method: str


class RunPodDrawer:
    """One RunPod model: runsync, poll while queued, download, verify."""

    def __init__(self, provider: RunPodProvider, model: ModelInfo) -> None:
        self.provider = provider
        self.model = model
        self.schema = provider.schema_of(model)
        self.target = provider.target(model)
        self.http = provider.client_for(self.target)

    def request_body(self, text: str) -> dict[str, Any]:
        return {"input": self.schema.build(text, self.model.options)}

    async def draw(self, text: str) -> Picture:
        # The turn's deadline bounds submission, polling and download; job_timeout (within
        # it by default) bounds the wait for a worker, with advice about queues.
        async with self.http.deadline("draw", self.provider.name):
            return await self._draw(text)

    async def _draw(self, text: str) -> Picture:
        p = self.provider
        deadline = time.monotonic() + p.job_timeout
        wait = max(1.0, min(300.0, float(self.model.options.get("sync_wait", p.sync_wait))))
        submit = asyncio.ensure_future(
            self._call(
                "POST",
                f"{self.target.base}/runsync",
                json=self.request_body(text),
                params={"wait": int(wait * 1000)},
                read_timeout=max(p.read_timeout, wait + 30.0),
                what="endpoint",
            )
        )
        try:
            job = await asyncio.shield(submit)
        except asyncio.CancelledError:
            # Stopped while runsync holds the request: the job id only comes with its answer.
            # Let that answer arrive in the background, then cancel the job, so a stop never
            # leaves a job running (and billed) on RunPod.
            p.keep(asyncio.ensure_future(self._cancel_when_known(submit)))
            raise
        job_id = str(job.get("id", ""))
        try:
            job = await self._until_done(job, job_id, deadline)
        except asyncio.CancelledError:
            if job_id:
                await self._cancel_quietly(job_id)
            raise
        return await self._picture(job)

    async def _call(self, method: str, url: str, *, what: str, **kw: Any) -> dict[str, Any]:
        try:
            result = await self.http.request(method, url, **kw)
        except ProviderError as exc:
            if exc.kind == "not_found" or exc.status == 404:
                raise self._not_found(what) from None
            raise
        data = result.json()
        if not isinstance(data, dict) or "status" not in data:
            raise ProviderError("bad_response", f"{self.target.label} did not answer with a job")
        return data

    def _not_found(self, what: str) -> ProviderError:
        if what == "job":
            return ProviderError(
                "not_found",
                f"RunPod no longer knows this job on {self.target.label}",
                hint="results expire (1 min after runsync, 30 min after run); draw again",
            )
        hint = "check the endpoint id in the RunPod console (Serverless → your endpoint)"
        if self.model.retired:
            hint = f"{LEGACY_NOTE} (options.endpoint in [[providers.runpod.models]])"
        return ProviderError(
            "not_found", f"RunPod endpoint {self.target.label} not found", hint=hint
        )

    async def _until_done(
        self, job: dict[str, Any], job_id: str, deadline: float
    ) -> dict[str, Any]:
        p = self.provider
        pause = p.poll_first
        while str(job.get("status")) in PENDING:
            report_progress(None, None, job_progress(job))
            if not job_id:
                raise ProviderError("bad_response", "RunPod returned an unfinished job with no id")
            left = deadline - time.monotonic()
            if left <= 0:
                await self._cancel_quietly(job_id)
                raise ProviderError(
                    "timeout",
                    f"RunPod job still {job.get('status')} after {p.job_timeout:g} s",
                    hint="no worker may be free (cold start or max workers reached); "
                    "raise job_timeout under [providers.runpod] or check the endpoint",
                )
            await asyncio.sleep(min(pause, left))
            pause = min(p.poll_max, pause * POLL_GROWTH)
            job = await self._call(
                self.target.status_method,
                f"{self.target.base}/status/{job_id}",
                read_timeout=STATUS_TIMEOUT,
                what="job",
            )
        if job.get("status") != "COMPLETED":
            raise job_error(job, p.secrets)
        return job

    async def _cancel_when_known(self, submit: asyncio.Future[dict[str, Any]]) -> None:
        try:
            job = await submit
        except Exception as exc:  # the submission failed: nothing to cancel
            log.debug("runpod submission ended with %s after a stop", exc)
            return
        job_id = str(job.get("id", ""))
        if job_id and str(job.get("status")) in PENDING:
            await self._cancel_quietly(job_id)

    async def _cancel_quietly(self, job_id: str) -> None:
        """Best effort, shielded from a second cancel; 404/405 mean "no /cancel here"."""

        async def cancel() -> None:
            try:
                await self.http.request(
                    "POST",
                    f"{self.target.base}/cancel/{job_id}",
                    retry=False,
                    read_timeout=CANCEL_TIMEOUT,
                    accept=lambda status: status < 500,
                )
            except Exception as exc:  # best effort: the stop must go on
                log.debug("runpod cancel %s failed: %s", job_id, exc)

        task = asyncio.ensure_future(cancel())
        try:  # a second cancel still propagates; the shielded request carries on
            await asyncio.wait_for(asyncio.shield(task), CANCEL_TIMEOUT + 1.0)
        except TimeoutError:
            pass

    async def _picture(self, job: Mapping[str, Any]) -> Picture:
        ref = find_image(job.get("output"))
        if ref is None:
            raise ProviderError(
                "bad_response",
                f"the RunPod job finished without an image ({self.schema.name})",
                hint="check the model's schema option",
            )
        value = ref.value.strip()
        if value.startswith(("http://", "https://")):
            data = await self.http.download(value)
        else:
            data = decode_base64_image(value)
        extras: dict[str, Any] = {"endpoint": self.target.label, "job_id": job.get("id")}
        for src, dst in (("delayTime", "delay_ms"), ("executionTime", "execution_ms")):
            if isinstance(job.get(src), (int, float)):
                extras[dst] = job[src]
        if ref.seed is not None:
            extras["seed"] = ref.seed
        if ref.cost is not None:
            extras["cost"] = ref.cost  # what RunPod billed, as opposed to our estimate
        picture = await picture_from_bytes(data, max_pixels=self.provider.max_pixels, extras=extras)
        return replace(picture, cost=self._cost(ref, picture))

    def _cost(self, ref: ImageRef, picture: Picture) -> float | None:
        if ref.cost is not None:
            return ref.cost
        if self.model.id in self.provider.ctx.prices:
            return self.model.price
        per_mp = self.model.options.get("price_per_mp")
        if isinstance(per_mp, (int, float)):
            return round(picture.width * picture.height / 1e6 * float(per_mp), 8)
        return self.model.price


def _unretired(model: ModelInfo) -> ModelInfo:
    """A legacy preset that config points at another endpoint is the user's own deployment."""
    legacy = model.retired == LEGACY_RETIRED
    moved = model.options.get("url") or model.options.get("endpoint", model.name) != model.name
    if not (legacy and moved):
        return model
    note = "" if model.note == LEGACY_NOTE else model.note
    return replace(model, retired="", note=note or "your own deployment")
