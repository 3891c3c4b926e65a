"""Data parallelism over processes: the shards of ``DataParallelStep(backend="processes")`` run
in worker processes, each with an interpreter (and a GIL) of its own.

Why: a shard is NumPy calls with Python in between (Module calls, the graph, the backward
walk), and only one thread of a process runs Python at a time.  When the arrays are small the
Python is most of the step, and two thread shards mostly take turns.  LeNet-5 at batch 128
(64 a shard, one BLAS thread each): a shard alone takes 12.7 ms, two thread shards side by side
25 ms each, so the threaded step (25 ms) lost to the serial one (19 ms); two processes running
the same 64-image step side by side took 12.4 and 12.9 ms against 12.6 ms alone.

How, in each step:

- the parent copies every parameter and buffer of its model into a block of shared memory,
  which the workers' copies of the model use as their arrays, so a worker always computes with
  the parent's current values, whatever the optimizer or the user did to them;
- it sends each worker its shard through a pipe: a pickled request (the targets, which
  parameters need gradients, each module's training flag, the default dtype, the shard's
  generator seed, the same seeds as the threaded step so that dropout draws the same masks,
  and the inputs' shape and dtype), then the inputs' bytes as they lie in memory, which the
  worker receives straight into a fresh array, not through a pickle (LeNet-5, 200 KB a shard,
  three runs of 300 steps: the parent's pickling 0.115 → 0.078 ms a step, and the worker
  starts its shard 0.54–0.59 → 0.44–0.49 ms into the step);
- it computes the first shard itself while the workers compute the others;
- each worker writes its gradients into a second shared block and answers with its loss;
- the parent sums the gradients with the threaded step's weights, and its optimizer steps.

The workers are started once, by the ``spawn`` method: a fresh interpreter each, because forking
a process whose BLAS and pool threads are running is unsafe.  They get the model and the loss
function as a pickle, so both must be picklable (nn modules are; a lambda is not), and, as for
any spawned process, a script that makes the step must guard its top level with
``if __name__ == "__main__":``; a worker that cannot rebuild them (a class that a fresh
interpreter cannot import) says so, with its traceback, when the step is made.  Each worker
keeps BLAS on one thread and ignores Ctrl-C (the parent handles it); it exits when the parent
closes the step or goes away.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import pickle
import signal
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any, Iterable, Sequence

import numpy as np

from . import dtypes
from .nn.module import Module
from .tensor import Tensor

__all__ = ["ShardWorkers"]

#: every array in a shared block starts at a multiple of this many bytes (a cache line)
ALIGN = 64


@dataclass(frozen=True)
class _Slot:
    """Where one array lives in a shared block."""
    offset: int
    shape: tuple
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _layout(arrays: Sequence[np.ndarray]) -> tuple[list[_Slot], int]:
    """Aligned slots for ``arrays`` one after another, and the block size they need."""
    slots, offset = [], 0
    for a in arrays:
        offset = -(-offset // ALIGN) * ALIGN
        slots.append(_Slot(offset, tuple(a.shape), a.dtype))
        offset += a.nbytes
    return slots, offset


def _views(block: Any, slots: Sequence[_Slot]) -> list[np.ndarray]:
    """The arrays of ``slots`` as views of a shared block (``block`` has ALIGN spare bytes, so
    the first slot can start at an aligned address in every process)."""
    raw = np.frombuffer(block, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return [raw[start + s.offset:start + s.offset + s.nbytes].view(s.dtype).reshape(s.shape)
            for s in slots]


def _state_tensors(model: Module, params: Sequence[Tensor] | None = None) -> list[Tensor]:
    """The tensors a worker's model must share with the parent's: parameters (``params``, where
    the caller has listed them already), then buffers."""
    return list(model.parameters() if params is None else params) + list(model.buffers())


def _structure(named_modules: Iterable[tuple[str, Module]]) -> list[tuple[str, type]]:
    """A model's modules by name and class: what a worker's copy was made from."""
    return [(name, type(module)) for name, module in named_modules]


# ---------------------------------------------------------------------------- the worker side
def _serve(connection: Any, pickled: bytes, state_block: Any, state_slots: list[_Slot],
           grad_block: Any, grad_slots: list[_Slot]) -> None:
    """A worker's life: unpickle the model, point its tensors at the shared state, then answer
    shard requests until told to stop (None) or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .ops.threads import single_threaded_blas

    try:
        replica = _Replica(*pickle.loads(pickled), _views(grad_block, grad_slots))
        for tensor, view in zip(_state_tensors(replica.model, replica.params),
                                _views(state_block, state_slots)):
            tensor._data = view
    except BaseException as error:              # e.g. a class the fresh interpreter cannot find
        connection.send(_error_reply(error))
        return
    connection.send(("ready",))
    with single_threaded_blas():
        while True:
            try:
                request = connection.recv()
            except EOFError:            # the parent is gone
                return
            if request is None:
                return
            try:
                reply = replica.compute_shard(request, _receive_array(connection, request))
            except BaseException as error:      # sent back, raised in the parent
                reply = _error_reply(error)
            connection.send(reply)


def _receive_array(connection: Any, request: dict) -> np.ndarray:
    """The array whose bytes follow ``request`` (see ``ShardWorkers.send``), in fresh memory.
    Byte views on both ends: a Connection measures an n-d buffer by its first dimension."""
    try:
        array = np.empty(request["shape"], request["dtype"])
    except BaseException:
        connection.recv_bytes()            # so that the next message read is a request
        raise
    connection.recv_bytes_into(array.reshape(-1).view(np.uint8))
    return array


class _Replica:
    """A worker's copy of the model and loss function, and the views of its gradient block.
    Its modules and parameters are listed once: the parent refuses a model whose modules or
    arrays changed, so they stay those of the copy."""

    def __init__(self, model: Module, loss_fn: Any, grads: list[np.ndarray]) -> None:
        self.model, self.loss_fn, self.grads = model, loss_fn, grads
        self.modules, self.params = list(model.modules()), list(model.parameters())

    def compute_shard(self, request: dict, inputs: np.ndarray) -> tuple:
        """("ok", loss, placed): the shard's gradients written into the gradient block (True),
        or sent as they are where they do not fit their slot, or None where unused."""
        from .parallel import _shard_loss_and_gradients

        dtypes.set_default_dtype(request["default_dtype"])
        # only the flags that differ are set: each set goes through a setter's checks (LeNet-5's
        # 14 modules and 10 parameters took 70 µs a step, while the parent waited)
        for module, training in zip(self.modules, request["training"]):
            if module.training != training:
                module.training = training
        for p, trainable in zip(self.params, request["trainable"]):
            if p.requires_grad != trainable:
                p.requires_grad = trainable
        wanted = [i for i, trainable in enumerate(request["trainable"]) if trainable]
        loss, shard_grads, _ = _shard_loss_and_gradients(
            self.model, self.loss_fn, Tensor(inputs), request["targets"],
            [self.params[i] for i in wanted], request["seed"], request["flush"])
        placed: list[Any] = []
        for i, g in zip(wanted, shard_grads):
            if g is None:
                placed.append(None)
            elif g.shape == self.grads[i].shape and g.dtype == self.grads[i].dtype:
                np.copyto(self.grads[i], g._data)
                placed.append(True)
            else:                           # e.g. a complex gradient of a real parameter
                placed.append(g._data)
        return "ok", loss._data, placed


def _error_reply(error: BaseException) -> tuple:
    text = "".join(traceback.format_exception(error))
    try:
        pickle.loads(pickle.dumps(error))   # some exceptions pickle but cannot be rebuilt
    except Exception:
        error = None
    return "error", error, text


# ---------------------------------------------------------------------------- the parent side
class ShardWorkers:
    """``count`` worker processes that compute shards of a data-parallel step for ``model`` and
    ``loss_fn`` (see the module docstring).  ``send`` hands them one step's shards, ``receive``
    collects their losses and gradients; ``close`` stops them."""

    def __init__(self, model: Module, loss_fn: Any, count: int) -> None:
        try:
            pickled = pickle.dumps((model, loss_fn))
        except Exception as error:
            raise TypeError(
                f"DataParallelStep(backend='processes'): the model and the loss function go to "
                f"the worker processes as a pickle, and pickling them failed ({error}); use nn "
                f"modules or module-level functions, not lambdas or closures, or "
                f"backend='threads'") from error
        self.model, self.loss_fn = model, loss_fn
        self._structure = _structure(model.named_modules())
        state = [t._data for t in _state_tensors(model)]
        self._state_slots, state_size = _layout(state)
        self._grad_slots, grad_size = _layout([p._data for p in model.parameters()])
        context = multiprocessing.get_context("spawn")
        self._state_block = context.RawArray(ctypes.c_uint8, state_size + ALIGN)
        self._state = _views(self._state_block, self._state_slots)
        # one gradient block per worker, each written by its worker alone
        self._grad_blocks = [context.RawArray(ctypes.c_uint8, grad_size + ALIGN)
                             for _ in range(count)]
        self._grads = [_views(block, self._grad_slots) for block in self._grad_blocks]
        self._grad_bytes = [np.frombuffer(block, dtype=np.uint8) for block in self._grad_blocks]
        self._processes, self._connections = [], []
        self._pending: list[tuple[Any, tuple[int, int]]] = []
        self._trainable: list[int] = []
        try:
            for grad_block in self._grad_blocks:
                here, there = context.Pipe()
                process = context.Process(
                    target=_serve, name="lemmata-shard", daemon=True,
                    args=(there, pickled, self._state_block, self._state_slots,
                          grad_block, self._grad_slots))
                process.start()
                there.close()
                self._processes.append(process)
                self._connections.append(here)
            for connection in self._connections:
                self._wait_until_ready(connection)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _wait_until_ready(connection: Any) -> None:
        """The worker's first word: ready, or why it could not rebuild the model."""
        try:
            reply = connection.recv()
        except (EOFError, OSError) as error:
            raise RuntimeError("DataParallelStep(backend='processes'): a worker process exited "
                               "while starting") from error
        if reply[0] == "error":
            _, error, text = reply
            raise RuntimeError(
                f"DataParallelStep(backend='processes'): a worker process could not rebuild the "
                f"model and the loss function from their pickle. Their classes and functions "
                f"must be importable in a fresh interpreter: defined at the top level of a "
                f"module, not inside a function or under `if __name__ == \"__main__\":`. The "
                f"worker's traceback:\n{text}") from error

    def __len__(self) -> int:
        return len(self._connections)

    def _share_state(self, modules: list[tuple[str, Module]], params: list[Tensor]) -> None:
        """Copy the parent model's parameters and buffers into the shared block, once its
        modules and arrays are checked to be those the workers hold copies of (``modules`` and
        ``params``: the model's named modules and parameters, walked once by ``send``)."""
        if _structure(modules) != self._structure:
            raise ValueError("DataParallelStep: the model's modules changed since the step was "
                             "made (its worker processes hold copies of the old ones); make a "
                             "new DataParallelStep")
        tensors = _state_tensors(self.model, params)
        layout = [(tuple(t.shape), t.dtype) for t in tensors]
        expected = [(s.shape, s.dtype) for s in self._state_slots]
        if layout != expected:
            raise ValueError(
                f"DataParallelStep: the model's parameters and buffers changed since the step was "
                f"made ({len(expected)} of shapes and dtypes {expected} then, {len(layout)} "
                f"{layout} now); make a new DataParallelStep")
        for view, t in zip(self._state, tensors):
            np.copyto(view, t._data)

    def send(self, shards: Sequence[tuple[tuple[int, int], Tensor, Any, int]],
             flush: bool) -> None:
        """Start one step: shard t of ``shards`` ((start, stop), inputs, targets, seed) goes to
        worker t.  Every parameter's gradient is wanted when it requires grad."""
        if self._pending:
            raise RuntimeError("DataParallelStep: the previous step's shards were not collected")
        if not self._connections:
            raise RuntimeError("DataParallelStep: the step is closed (its worker processes are "
                               "stopped); make a new DataParallelStep")
        if len(shards) > len(self):
            raise RuntimeError(f"DataParallelStep: {len(shards)} shards for {len(self)} workers")
        modules, params = list(self.model.named_modules()), list(self.model.parameters())
        self._share_state(modules, params)
        trainable = [p.requires_grad for p in params]
        # which gradients the replies hold, for receive
        self._trainable = [i for i, flag in enumerate(trainable) if flag]
        common = dict(trainable=trainable, training=[m.training for _, m in modules],
                      default_dtype=dtypes.get_default_dtype(), flush=flush)
        requests = []
        for bounds, inputs, targets, seed in shards:       # all pickled before any is sent
            data = np.ascontiguousarray(inputs._data)
            try:
                request = ForkingPickler.dumps(dict(common, shape=data.shape, dtype=data.dtype,
                                                    targets=targets, seed=seed))
            except Exception as error:
                raise TypeError(f"DataParallelStep: the targets of samples {bounds[0]}:"
                                f"{bounds[1]} go to a worker process as a pickle, and pickling "
                                f"them failed ({error})") from error
            requests.append((request, data))
        try:
            for connection, (request, data), (bounds, *_) in zip(self._connections, requests,
                                                                 shards):
                connection.send_bytes(request)
                connection.send_bytes(data.reshape(-1).view(np.uint8))
                self._pending.append((connection, bounds))
        except BaseException as error:
            self._stop_on(error, "could not hand a worker process its shard")

    def receive(self) -> list[tuple[Tensor, list]]:
        """The pending shards' (loss, gradients), gradients as Tensors on the shared blocks
        (valid until the next ``send``), one per parameter that requires grad (None where
        unused).  Raises the first shard's error after collecting every shard."""
        pending, self._pending = self._pending, []
        results, failure = [], None
        for connection, (start, stop) in pending:
            worker = self._connections.index(connection)
            try:
                reply = connection.recv()
            except BaseException as error:   # also Ctrl-C: a late reply would desynchronise
                self._processes[worker].join(timeout=1)
                self._stop_on(error, f"the worker process computing samples {start}:{stop} "
                                     f"stopped (exit code {self._processes[worker].exitcode})")
            if reply[0] == "error":
                if failure is None:
                    failure = (reply, start, stop)
                continue
            _, loss, placed = reply
            grads = [None if g is None else Tensor(self._grads[worker][i] if g is True else g)
                     for i, g in zip(self._trainable, placed)]
            results.append((Tensor(loss), grads, {}))
        if failure is not None:
            (_, error, text), start, stop = failure
            where = f"DataParallelStep: the shard of samples {start}:{stop} failed in its worker"
            if error is None:
                raise RuntimeError(f"{where}:\n{text}")
            error.add_note(f"{where}; its traceback there:\n{text}")
            raise error
        return results

    def discard(self) -> None:
        """Collect and drop the pending shards (after the parent's own shard failed), so the
        workers are ready for the next step; workers that do not answer are stopped."""
        pending, self._pending = self._pending, []
        try:
            for connection, _ in pending:
                connection.recv()
        except BaseException as error:
            self._stop_on(error, "a worker process stopped")

    def owns(self, array: np.ndarray) -> bool:
        """Whether ``array`` lies in a shared gradient block (and so changes next step)."""
        return any(np.may_share_memory(array, block) for block in self._grad_bytes)

    def _stop_on(self, error: BaseException, message: str) -> None:
        """Stop the workers, whose replies could no longer be matched to steps, and raise: a
        RuntimeError saying ``message`` for a broken pipe or a dead worker, else ``error``
        itself (a KeyboardInterrupt stays one)."""
        self.close()
        if isinstance(error, (EOFError, OSError)):
            raise RuntimeError(f"DataParallelStep: {message}; its worker processes are stopped, "
                               f"make a new DataParallelStep") from error
        raise error

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        for connection in self._connections:
            try:
                connection.send(None)
            except (OSError, ValueError):
                pass
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        for connection in self._connections:
            connection.close()
        self._processes, self._connections, self._pending = [], [], []
