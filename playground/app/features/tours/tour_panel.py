"""The tour panel's widgets: the stop's text, its question's choices, where we are, Back/Next/Close.

Only widgets and what they show; the player (tour_player.py) decides what a button does.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QRadioButton, QVBoxLayout, QWidget

from playground.app.widgets.controls import named

ANSWER_STYLE = "color:#1e7b1e; font-weight:bold;"   # readable on a light or dark panel
PREPARING = "setting up the window …"
MIN_HEIGHT = 230               # the text of a stop and its question without scrolling, at 1366×768


class TourPanel(QWidget):
    def __init__(self):
        super().__init__()
        self.title = QLabel(objectName="tourTitle")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight:bold;")
        self.step_label = named(QLabel(""), "tourStepLabel", "Which stop of the tour this is")
        self.status = QLabel("", objectName="tourStatus")
        self.status.setStyleSheet("color:#777;")
        self.answer = QLabel("", objectName="tourAnswer")
        self.answer.setWordWrap(True)
        self.answer.setStyleSheet(ANSWER_STYLE)
        self.answer.setVisible(False)
        self.text = QLabel("", objectName="tourText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.prompt = QLabel("", objectName="tourQuestion")
        self.prompt.setWordWrap(True)
        self.prompt.setStyleSheet("font-style:italic;")
        self.choices_box = QWidget(objectName="tourChoices")
        self.choices_layout = QVBoxLayout(self.choices_box)
        self.choices_layout.setContentsMargins(8, 0, 0, 0)
        self.choice_group = QButtonGroup(self)
        self.back = named(QPushButton("◀ Back"), "tourBackButton", "The previous stop, as it was")
        self.next = named(QPushButton("Next ▶"), "tourNextButton", "The next stop (and the answer to a question)")
        self.close = named(QPushButton("Close"), "tourCloseButton",
                           "End the tour: the window goes back to what it was before it")
        head = QHBoxLayout()
        head.addWidget(self.step_label)
        head.addWidget(self.status, 1)
        buttons = QHBoxLayout()
        for b in (self.back, self.next, self.close):
            buttons.addWidget(b)
        self.setMinimumHeight(MIN_HEIGHT)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(head)
        lay.addWidget(self.answer)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.prompt)
        lay.addWidget(self.choices_box)
        lay.addLayout(buttons)

    def show_stop(self, title: str, k: int, n: int, text: str, answer: str) -> None:
        self.title.setText(title)
        self.step_label.setText(f"{k} / {n}")
        self.text.setText(text)
        self.answer.setText(answer)
        self.answer.setVisible(bool(answer))
        self.back.setEnabled(k > 1)
        self.next.setEnabled(k < n)

    def ask(self, prompt: str, choices) -> None:
        """The stop's question with one radio button per choice (none: hidden)."""
        for b in self.choice_group.buttons():
            self.choice_group.removeButton(b)
            b.deleteLater()
        self.prompt.setText(prompt)
        self.prompt.setVisible(bool(prompt))
        for i, text in enumerate(choices):
            b = QRadioButton(text, objectName=f"tourChoice{i + 1}")
            self.choice_group.addButton(b, i)
            self.choices_layout.addWidget(b)
        self.choices_box.setVisible(bool(choices))

    def chosen(self) -> int:
        return self.choice_group.checkedId()

    def set_preparing(self, on: bool) -> None:
        self.status.setText(PREPARING if on else "")
