"""What a matplotlib figure says: every text it draws (titles, labels, tick labels, legends, notes)."""

from matplotlib.text import Text


def texts_of(fig) -> list[str]:
    return [text.get_text() for text in fig.findobj(Text) if text.get_text()]
