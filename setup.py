"""Build configuration beyond pyproject.toml: the optional native frame rasteriser.

``gdl_studio/racing/_fastraster.c`` is plain C loaded with ctypes (no Python API). It is optional:
where it cannot be compiled, the CarRacing renderer draws with pygame and gives the same pixels,
only slower. ``-ffp-contract=off`` keeps floating-point results identical to pygame's own build
(no fused multiply-add).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gdl_studio.racing._fastraster",
            sources=["gdl_studio/racing/_fastraster.c"],
            extra_compile_args=["-O3", "-ffp-contract=off", "-fno-fast-math", "-fwrapv"],
            optional=True,
        )
    ]
)
