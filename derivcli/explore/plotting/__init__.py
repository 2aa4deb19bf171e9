"""f, f' and the tangent line over an interval: the data (`data`, one batched autograd pass), its y
ranges (`ranges`: poles cut, spikes clipped), a braille plot for the terminal (`terminal`) and a
matplotlib figure for files (`figure`, optional), and with `plot --analyze` the marks of what `derivcli
analyze` found (`marks`).  Where f is not differentiable at the point (|x| at 0) there is no tangent, and
the plot says why."""

from .data import PlotData, plot_data
from .figure import save_figure
from .terminal import smallest_width, terminal_plot

__all__ = ["PlotData", "plot_data", "save_figure", "smallest_width", "terminal_plot"]
