"""What reading sources carries from one rebuild or update to the next, besides the articles.

Files need nothing: an update reads them again and compares. A database table can say which rows
changed since the last read (its ``modified`` column: the high-water mark is remembered), and a
feed on the web can answer "not modified" (its ``ETag`` and ``Last-Modified`` are remembered). That
state is saved in the generation's metadata (``source_state``, by source as given: a TOML path or
a feed URL, never a database URL) and handed back to the next update.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class Reading:
    """Options and findings of one read of the sources.

    :param previous: the state saved by the last rebuild or update, by source
    :param incremental: an update: read only what changed where a source can tell (a database's
        ``modified`` column, a feed's conditional request); a rebuild reads everything
    :param list_ids: also list every id a database table holds (an update with ``--prune``)
    :param follow_links: complete a feed entry that has only a summary from its article page
    """

    previous: Mapping[str, dict] = field(default_factory=dict)
    incremental: bool = False
    list_ids: bool = False
    follow_links: bool = False
    #: The state to save for the next update, by source (filled by the readers).
    state: dict[str, dict] = field(default_factory=dict)
    #: Article path -> every article id its source holds now (database tables read in part).
    present: dict[str, set[str]] = field(default_factory=dict)
    #: Sources whose articles are never pruned (feeds: an entry that left the feed is kept).
    kept: set[str] = field(default_factory=set)

    def saved_state(self) -> dict[str, dict]:
        """The state for the generation's metadata: the previous one, updated by this read."""
        return {**self.previous, **self.state}


__all__ = ["Reading"]
