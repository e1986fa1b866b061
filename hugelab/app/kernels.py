"""The app's kernel manager: jupyter_server's, with a cap on running kernels.

Loaded by Voila (``VoilaConfiguration.multi_kernel_manager_class``) inside
the app's server process, never by the hugelab core. Culling idle kernels
is jupyter_server's own (``cull_idle_timeout``); what it lacks is a cap,
so that page loads cannot start kernels without end.
"""

from __future__ import annotations

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

from ..limits import APP_MAX_KERNELS


class CappedKernelManager(AsyncMappingKernelManager):
    max_kernels = Integer(APP_MAX_KERNELS, config=True, help="most kernels running at once")

    async def start_kernel(self, *args, **kwargs):  # type: ignore[override]  # async, as its base's is
        if kwargs.get("kernel_id") is None and len(self.list_kernel_ids()) >= self.max_kernels:
            raise web.HTTPError(503, f"the app already runs {self.max_kernels} notebook kernels (its limit): "
                                     "close a tab, or wait until an idle one is shut down")
        return await super().start_kernel(*args, **kwargs)
