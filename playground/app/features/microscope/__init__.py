"""Training under the microscope: loss by noise level against its exact floor, and memorisation.

LINKS is what other panels (the explanation, the Dice panel) show to lead a learner here; each link
names a dock that ui.show_dock opens.
"""

LINKS = ('<a href="lossByLevel">Loss by level</a> · <a href="memorisation">Memorisation</a>: '
         'where the model is above its exact floor, and whether it copies its training points')
