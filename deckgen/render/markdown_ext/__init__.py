"""Python-Markdown extensions that make an answer render the way its author wrote it, one to a module.

- `math`: TeX math passes through to Anki's MathJax untouched.
- `block_start`: lists, tables and code blocks start where the author started them.
- `list_indent`: lists nest by CommonMark's rule, whatever the indent width.
- `images`: local images point at content-hashed media names, or give way to their alt text.
- `linear_time`: links and raw HTML are found in linear time, so no note can stall a build.
- `line_breaks`: every line of text stays its own line, in linear time.
- `obsidian`: Obsidian's embeds, wikilinks, callouts and task boxes.
- `commonmark`: escapes and HTML blocks read as CommonMark reads them.
- `triggers`: each text tried only against the inline patterns that can match in it.
- `code_highlighting`: code highlighted without working out for each block what is the same for all.
"""

from .block_start import BlockStartExtension
from .commonmark import CommonMarkExtension
from .images import MediaExtension
from .line_breaks import LineBreakExtension
from .linear_time import LinearTimeExtension
from .list_indent import ListIndentExtension
from .math import MathExtension
from .obsidian import ObsidianExtension
from .triggers import TriggeredInlineExtension

__all__ = ["BlockStartExtension", "CommonMarkExtension", "LineBreakExtension", "LinearTimeExtension",
           "ListIndentExtension", "MathExtension", "MediaExtension", "ObsidianExtension",
           "TriggeredInlineExtension"]
