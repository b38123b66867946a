"""Types of the compiled readers (`_readers.pyx`)."""

from collections.abc import Callable, Iterable

from stockade.model import Container, Event, Process

class CompiledReaders:
    def __init__(
        self,
        procs: dict[bytes, Process],
        pid_keys: dict[int, list[bytes]],
        forget: Callable[[int], None],
        fallback: list[Callable[[bytes], Event]],
        host: Container,
        offset: int,
        kinds: dict[str, int],
        clones: dict[int, str],
        accepts: dict[int, str],
        execs: dict[int, str],
    ) -> None: ...
    def decode_all(self, records: Iterable[bytes]) -> tuple[list[Event], int]: ...
