"""Dream: the CarRacing World Model (Ha & Schmidhuber 2018): V (ConvVAE), M (MDN-RNN), C (linear
controller trained with CMA-ES), a fast pixel-identical CarRacing renderer, and the real/dream
driving generators used by the Dream panel and ``gdl-studio dream``. No Qt here."""
