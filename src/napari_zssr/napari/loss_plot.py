"""A small live plot of the training loss, one curve per plane, drawn with QPainter (no plotting library needed)."""

from __future__ import annotations

import math

from qtpy.QtCore import QPointF, QSize, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QSizePolicy, QWidget

#: the current plane's curve; earlier planes are drawn fainter behind it.
CURRENT_COLOUR = QColor(255, 160, 40)
EARLIER_COLOUR = QColor(150, 150, 150, 140)


class LossPlot(QWidget):
    """Loss against iteration on a log scale; each plane starts a new curve from the left edge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: dict[int, list[tuple[int, float]]] = {}
        self.setMinimumHeight(50)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setToolTip("Training loss per plane (log scale): the current plane bright, earlier planes grey")

    def sizeHint(self) -> QSize:
        return QSize(180, 60)

    def clear(self) -> None:
        self.series.clear()
        self.update()

    def add(self, plane: int, iteration: int, loss: float) -> None:
        if loss > 0 and math.isfinite(loss):
            self.series.setdefault(plane, []).append((iteration, loss))
            self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawRect(0, 0, self.width() - 1, self.height() - 1)
        points = [point for curve in self.series.values() for point in curve]
        if not points:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "training loss")
            return
        last_iteration = max(max(i for i, _ in points), 1)
        logs = [math.log10(loss) for _, loss in points]
        low, high = min(logs), max(logs)
        span = (high - low) or 1.0
        width, height = self.width() - 6, self.height() - 6
        current = max(self.series)
        for plane in sorted(self.series):
            polygon = QPolygonF([QPointF(3 + width * i / last_iteration,
                                         3 + height * (high - math.log10(loss)) / span)
                                 for i, loss in self.series[plane]])
            painter.setPen(QPen(CURRENT_COLOUR if plane == current else EARLIER_COLOUR, 1.5))
            painter.drawPolyline(polygon)
        painter.setPen(QPen(QColor(200, 200, 200), 1))
        painter.drawText(self.rect().adjusted(4, 2, -4, -2), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
                         f"{points[-1][1]:.4f}")
