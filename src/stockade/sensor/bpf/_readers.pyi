"""Types of the compiled readers (`_readers.pyx`)."""

from collections.abc import Callable, Iterable

from stockade.model import Container, Event, Process

class CompiledReaders:
    def __init__(
        self,
        actor: Callable[[bytes], Process],
        procs: dict[bytes, Process],
        fallback: list[Callable[[bytes], Event]],
        host: Container,
        offset: int,
        kinds: dict[str, int],
        clones: dict[int, str],
        accepts: dict[int, str],
    ) -> None: ...
    def decode_all(self, records: Iterable[bytes]) -> tuple[list[Event], int]: ...
