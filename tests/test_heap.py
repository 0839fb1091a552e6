"""Keeping freed memory for reuse during a batch run (glibc's mallopt)."""

from __future__ import annotations

import ctypes
import platform
import sys

import pytest

from backpath.system import heap


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's")
def test_glibc_is_asked_to_keep_freed_memory():
    assert heap.keep_freed_memory() is True


def test_without_mallopt_nothing_is_done(monkeypatch):
    def no_libc(name):
        raise OSError("no C library")

    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    assert heap.keep_freed_memory() is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert heap.keep_freed_memory() is False
