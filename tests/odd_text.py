"""Text that breaks naive formatting: empty, blank, control characters, line and paragraph
separators, wide and astral characters, a lone surrogate, and lengths past SNS's limits.
Shared by the subject rule's tests and the notifier's fuzz test."""

ODD_TEXT: list[str] = [
    "",
    " ",
    "\n\r\t",
    "a" * 500,
    "é" * 150,
    "名前" * 60,
    "line one\nline two\r\nline three",
    "\x00\x07\x1b[31mred\x1b[0m",
    "\u2028\u2029\u200b\ufeff",
    "🚀" * 40,
    "x\ud800y",
]
