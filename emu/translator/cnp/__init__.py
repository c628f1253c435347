"""Copy-and-patch machinery (docstring completed below)."""
from .arena import Arena, ArenaError, ArenaFull
from .emit import Emission, EmitError, Emitter, emit_pieces, repatch_site
from .library import LibraryFileError, StencilLibrary
from .objfile import StencilBuildError, build_library, compile_object, host_triple, read_object, source_digest

__all__ = ["Arena", "ArenaError", "ArenaFull", "Emission", "EmitError", "Emitter", "emit_pieces",
           "repatch_site", "LibraryFileError", "StencilLibrary", "StencilBuildError",
           "build_library", "compile_object", "host_triple", "read_object", "source_digest"]
