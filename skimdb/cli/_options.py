"""Every option of the ``skimdb`` command, declared once; the parser is built from it.

Each :class:`Option` holds its flags, type, default and help. The ``--help`` line
of an option states its default once, from the table: the value itself, or
``shown`` where the value is a placeholder (``None`` meaning "the preset's" or
"all"). The network options of ``skimdb train`` name the estimator parameter they
set (``param``); they reach the estimator only when given, so their default is
the estimator's own, which a test holds equal to the table.
"""

import argparse
import inspect
from dataclasses import dataclass, field

from skimdb import PRESETS, MultiHotVectorizer, __version__
from skimdb.network._params import DEFAULTS as IMDBNET_DEFAULTS

__all__ = ["COMMANDS", "build_parser", "parse_args"]

#: The notebook's "further experiments", searched by ``skimdb experiments``.
EXPERIMENT_GRID = {
    "hidden_layers": [1, 2, 3],
    "units": [16, 32, 64],
    "loss": ["binary_crossentropy", "mse"],
    "activation": ["relu", "tanh"],
}
#: What ``skimdb experiments`` uses for the options not given.
EXPERIMENT_DEFAULTS = {
    **EXPERIMENT_GRID,
    "n_train": None,
    "cv": 3,
    "epochs": IMDBNET_DEFAULTS["epochs"],
}
#: What ``skimdb experiments --quick`` uses for the options not given.
QUICK = {
    "hidden_layers": [1, 2],
    "units": [16],
    "loss": ["binary_crossentropy"],
    "activation": ["relu", "tanh"],
    "n_train": 2000,
    "cv": 2,
    "epochs": 2,
}
#: The class names of the IMDB labels 0 and 1.
CLASS_NAMES = ("neg", "pos")


# -- argument types -------------------------------------------------------------------


def _int_at_least(minimum):
    """An argparse type: an int no smaller than ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = _int_at_least(1)
non_negative_int = _int_at_least(0)


def fraction(text):
    """An argparse type: a float in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


# -- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One option: its flags, type, default and help, declared once.

    ``default`` is the value used when the option is not given, and what ``--help``
    states, unless ``shown`` says it in words (``""``: state nothing). ``param``
    names the estimator parameter a network option sets: the option then reaches
    ``args`` only when given, and ``default`` is the estimator's own. ``extra``
    holds argparse's other keywords (action, choices, nargs, metavar, dest).
    """

    flags: tuple
    help: str
    type: object = None
    default: object = None
    shown: str | None = None
    param: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def default_text(self):
        """The default as ``--help`` states it, or ``""`` for none."""
        if self.shown is not None:
            return self.shown
        if self.extra.get("action") in ("store_true", "store_false"):
            return ""  # a switch: off unless given
        if self.default is None:
            return ""
        if isinstance(self.default, list):
            return " ".join(map(str, self.default))
        return str(self.default)

    @property
    def help_text(self):
        default = self.default_text
        return f"{self.help} (default: {default})" if default else self.help

    def add_to(self, group):
        kwargs = dict(self.extra, help=self.help_text)
        if self.type is not None:
            kwargs["type"] = self.type
        if self.param is not None:
            kwargs["default"] = argparse.SUPPRESS  # given ones only
        elif self.flags[0].startswith("-") and "action" not in self.extra:
            kwargs["default"] = self.default
        group.add_argument(*self.flags, **kwargs)


@dataclass(frozen=True)
class Group:
    """Options shown under one heading; ``exclusive``: at most one may be given."""

    title: str | None
    options: list
    description: str | None = None
    exclusive: bool = False


@dataclass(frozen=True)
class Command:
    help: str
    description: str
    groups: list


def _quick_and_full(key, words=None):
    full = words or _words(EXPERIMENT_DEFAULTS[key])
    return f"{full}; with --quick {_words(QUICK[key])}"


def _words(value):
    return " ".join(map(str, value)) if isinstance(value, list) else str(value)


_DATA = Group(
    "data",
    [
        Option(
            ("--data-home",),
            "folder holding the IMDB data",
            shown="$SKIMDB_DATA, else ~/skimdb_data",
            extra={"metavar": "DIR"},
        ),
        Option(
            ("--no-download",),
            "fail rather than download missing data files",
            extra={"action": "store_true"},
        ),
    ],
)

_MODEL = Option(
    ("model",),
    "a model folder saved by 'skimdb train -o FOLDER' (or skimdb.persistence.save)",
)
_ALLOW_PICKLE = Group(
    "pickle files",
    [
        Option(
            ("--allow-pickle",),
            "also load MODEL from a pickle or joblib file (such as the model.joblib "
            "earlier skimdb versions saved). Loading a pickle runs any code it "
            "holds: use this only for files you made or trust",
            extra={"action": "store_true"},
        )
    ],
)


_TEXT_COLUMN = Option(
    ("--text-column",),
    "the CSV column holding the texts",
    default="text",
    extra={"metavar": "NAME"},
)
_LABEL_COLUMN = Option(
    ("--label-column",),
    "the CSV column holding the labels",
    default="label",
    extra={"metavar": "NAME"},
)


def _csv_group(help, *, labels):
    """``--csv`` and its columns, for a command reading a saved model's reviews."""
    options = [
        Option(("--csv",), help, extra={"metavar": "PATH"}),
        Option(
            ("--text-column",),
            "the CSV column holding the texts",
            shown="the model's, else text",
            extra={"metavar": "NAME"},
        ),
    ]
    if labels:
        options.append(
            Option(
                ("--label-column",),
                "the CSV column holding the labels",
                shown="the model's, else label",
                extra={"metavar": "NAME"},
            )
        )
    return Group("reviews from a CSV file (instead of IMDB)", options,
                 description="For a model trained with 'skimdb train --csv', the "
                 "columns default to those it was trained on.")  # fmt: skip


def _width(default):
    return Option(
        ("--width",),
        "characters of each review shown (0: all)",
        type=non_negative_int,
        default=default,
    )


def _owner_default(param):
    """The default of an estimator parameter, from its owner: IMDBNet's
    TensorFlow-free table, else MultiHotVectorizer's signature."""
    if param in IMDBNET_DEFAULTS:
        return IMDBNET_DEFAULTS[param]
    return inspect.signature(MultiHotVectorizer).parameters[param].default


def _net(flags, param, help="", **kwargs):
    """A network option of ``skimdb train``: sets the estimator parameter ``param``;
    its default is the estimator's own."""
    return Option(flags, help or param.replace("_", " "), param=param,
                  default=_owner_default(param), **kwargs)  # fmt: skip


_TRAIN = Command(
    help="fit the network on IMDB, save it and its plots",
    description="Fit ReviewEncoder + MultiHotVectorizer + IMDBNet on the training "
    "reviews, print the test loss and accuracy, and save into OUTPUT the fitted "
    "pipeline (skimdb's no-pickle model folder: skimdb.json, arrays.npz and a "
    ".keras file; it takes raw text), the per-epoch history (history.csv, "
    "history.png) and the violins of the test probabilities (probabilities.png). "
    "With --csv it trains on your own file of texts and labels instead.",
    groups=[
        Group(
            None,
            [
                Option(
                    ("-o", "--output"),
                    "folder to save into: a new or empty one, or with --overwrite "
                    "a model folder saved before",
                    default="skimdb_model",
                ),
                Option(
                    ("--overwrite",),
                    "replace the model saved in OUTPUT (the new one is written "
                    "beside it and swapped in when complete)",
                    extra={"action": "store_true"},
                ),
                Option(
                    ("--preset",),
                    "'notebook': the book's network, shaped by the options below; "
                    "'best': n-grams up to 3, Naive-Bayes weighting and a logistic "
                    "layer (about 0.92 test accuracy; of the options below only "
                    "--validation-split, --random-state and --verbose apply)",
                    default="notebook",
                    extra={"choices": list(PRESETS)},
                ),
            ],
        ),
        Group(
            "the network (MultiHotVectorizer's num_words, IMDBNet's hyperparameters)",
            [
                _net(("--num-words",), "num_words", "vocabulary size",
                     type=positive_int),
                _net(("--units",), "units", type=positive_int),
                _net(("--hidden-layers",), "hidden_layers", type=non_negative_int),
                _net(("--activation",), "activation"),
                _net(("--loss",), "loss",
                     "the training loss, a name IMDBNet accepts"),
                _net(("--optimizer",), "optimizer"),
                _net(("--learning-rate",), "learning_rate", type=float,
                     shown="the optimizer's own"),
                _net(("--epochs",), "epochs", type=positive_int),
                _net(("--batch-size",), "batch_size", type=positive_int),
                Option(
                    ("--validation-split",),
                    "fraction of the training reviews held out to draw validation "
                    "curves; 0 trains on all of them",
                    type=fraction,
                    shown=", ".join(
                        f"{p['validation_split']:g} with the {name} preset"
                        for name, p in PRESETS.items()
                    ),
                ),
                _net(("--dropout",), "dropout", "dropout rate", type=float),
                _net(("--l2",), "l2", "L2 weight penalty", type=float),
                _net(("--early-stopping",), "early_stopping",
                     "stop when the validation loss stops improving (needs a "
                     "validation split) and keep the best weights",
                     extra={"action": "store_true"}),
                _net(("--n-iter-no-change",), "n_iter_no_change",
                     "epochs without improvement that --early-stopping waits for",
                     type=positive_int),
                _net(("--no-shuffle",), "shuffle",
                     "do not shuffle the training reviews before each epoch",
                     extra={"action": "store_false", "dest": "shuffle"}),
                _net(("--class-weight",), "class_weight", "class weights",
                     shown="none", extra={"choices": ["balanced"]}),
                Option(("--random-state",), "seed of the network", type=int,
                       default=0),
                Option(
                    ("--verbose",),
                    "Keras' progress output: 0 none, 1 bar, 2 a line per epoch",
                    type=int,
                    default=2,
                    extra={"choices": [0, 1, 2]},
                ),
            ],
            description="Options not given keep the notebook preset's values: "
            f"{PRESETS['notebook']['description']}",
        ),
        Group(
            "your own reviews (instead of IMDB)",
            [
                Option(("--csv",), "train on this CSV file of raw texts and labels "
                       "(UTF-8, a header row naming the columns, any number of "
                       "classes), with a vocabulary learned from its texts; a "
                       "stratified test split is held out, scored and saved in "
                       "OUTPUT as test.csv", extra={"metavar": "PATH"}),
                _TEXT_COLUMN,
                _LABEL_COLUMN,
                Option(("--test-size",), "fraction of the rows held out for the "
                       "test split (stratified; seeded by --random-state)",
                       type=fraction, default=0.2),
            ],
        ),
        Group(
            "big files: out of core (skimdb.streaming)",
            [
                Option(("--chunk-size",), "stream --csv (or --parquet) N rows at a "
                       "time, never holding the file: the same vocabulary and test "
                       "split as in memory, memory bounded by N",
                       type=positive_int, shown="in memory",
                       extra={"metavar": "N"}),
                Option(("--parquet",), "stream this Parquet file as --csv streams "
                       "a CSV file (the columns as --text-column, --label-column)",
                       extra={"metavar": "PATH"}),
                Option(("--scheduler",), "read and encode the file on the Dask "
                       "cluster of this scheduler, such as tcp://10.0.0.5:8786 (the "
                       "same path on every worker)", extra={"metavar": "ADDRESS"}),
                Option(("--dask",), "read and encode the file on a local Dask "
                       "cluster (LocalCluster)", extra={"action": "store_true"}),
            ],
            description="Needs --chunk-size; --scheduler and --dask need pip "
            'install "skimdb[dask]". The network trains in this process.',
        ),
        Group(
            "a quicker run",
            [
                Option(("--n-train",), "use only the first N training reviews",
                       type=positive_int, shown="all"),
                Option(("--n-test",), "use only the first N test reviews",
                       type=positive_int, shown="all"),
                Option(("--no-plots",), "save no PNG plots",
                       extra={"action": "store_true"}),
            ],
        ),
        _DATA,
    ],
)  # fmt: skip

_EVALUATE = Command(
    help="loss, accuracy, ROC AUC and confusion matrix on the test set",
    description="Score a saved model on the IMDB test reviews, or on a CSV file of "
    "texts and labels (a model trained with --csv: on its saved test split).",
    groups=[
        Group(
            None,
            [
                _MODEL,
                Option(("--n-test",), "use only the first N test reviews",
                       type=positive_int, shown="all"),
            ],
        ),
        _csv_group("score on this CSV file of texts and labels; a model trained "
                   "with --csv is scored on its saved test split (test.csv) when "
                   "no --csv is given", labels=True),
        _ALLOW_PICKLE,
        _DATA,
    ],
)  # fmt: skip

_PREDICT = Command(
    help="label raw review text",
    description="Print the label and probability of being positive of each review, "
    "given as arguments, in a file or on standard input (UTF-8, one review per "
    "line; blank lines are skipped).",
    groups=[
        Group(
            None,
            [
                _MODEL,
                Option(("text",), "reviews, one per argument",
                       extra={"nargs": "*"}),
                Option(("-f", "--file"), "read reviews from PATH ('-': stdin)",
                       extra={"metavar": "PATH"}),
                _width(60),
            ],
        ),
        _ALLOW_PICKLE,
    ],
)  # fmt: skip

_EXPLAIN = Command(
    help="the words behind each prediction",
    description="Print, for each review (given as arguments, in a file or on "
    "standard input, as for predict), its predicted label and probability and "
    "the words that moved it most toward and away from that label. A word's "
    "effect is the predicted label's probability minus its probability once the "
    "word is removed from the review (exact: one forward pass per distinct word). "
    "With an n-gram model (--preset best) pairs and triples of words are features "
    "of their own; with more than two classes the effect is on the predicted "
    "class.",
    groups=[
        Group(
            None,
            [
                _MODEL,
                Option(("text",), "reviews, one per argument",
                       extra={"nargs": "*"}),
                Option(("-f", "--file"), "read reviews from PATH ('-': stdin)",
                       extra={"metavar": "PATH"}),
                Option(("--n",), "words shown each way (toward and away)",
                       type=positive_int, default=5),
                _width(60),
                Option(("--format",), "'text': a block per review; 'tsv': a "
                       "tab-separated row per word (review, label, probability, "
                       "direction, word, effect) for other programs",
                       default="text", extra={"choices": ["text", "tsv"]}),
            ],
        ),
        _ALLOW_PICKLE,
    ],
)  # fmt: skip

_TOP_WORDS = Command(
    help="the words with the strongest effect over the test reviews",
    description="List, for each class, the words that raise its probability most "
    "on average over the test reviews holding them (the effect of explain, "
    "averaged). The reviews are the IMDB test reviews (the first --n-reviews of "
    "them), or for a model trained with --csv its saved test split, or the texts "
    "of --csv PATH.",
    groups=[
        Group(
            None,
            [
                _MODEL,
                Option(("--n",), "words per class", type=positive_int,
                       default=10),
                Option(("--n-reviews",), "use only the first N reviews (the cost "
                       "is one forward pass per distinct word of each review: "
                       "about 2 s per 1,000 IMDB reviews for the notebook's "
                       "network, 20 to 30 s for --preset best)",
                       type=positive_int, default=2000, extra={"metavar": "N"}),
                Option(("--min-count",), "only words in at least this many of the "
                       "reviews", type=positive_int,
                       shown="a hundredth of the reviews, at least 5",
                       extra={"metavar": "N"}),
            ],
        ),
        _csv_group("take the reviews from the texts of this CSV file",
                   labels=False),
        _ALLOW_PICKLE,
        _DATA,
    ],
)  # fmt: skip

_MISTAKES = Command(
    help="the misclassified test reviews, decoded to words",
    description="Print the reviews among the first N of the test set that a saved "
    "model gets wrong, decoded back to words ('?' marks the start, and rare or "
    "unknown words), with the true label and P(pos). For a model trained with "
    "--csv: among the first N of its saved test split (or of --csv PATH), with "
    "the true and predicted labels and the predicted label's probability.",
    groups=[
        Group(
            None,
            [
                _MODEL,
                Option(("--n",), "test reviews to look at", type=positive_int,
                       default=100),
                _width(300),
            ],
        ),
        _csv_group("look at the texts and labels of this CSV file; a model "
                   "trained with --csv looks at its saved test split (test.csv) "
                   "when no --csv is given", labels=True),
        _ALLOW_PICKLE,
        _DATA,
    ],
)  # fmt: skip

_EXPERIMENTS = Command(
    help="the notebook's further experiments as a grid search",
    description="Cross-validate every combination of hidden layers, units, loss and "
    "activation (the notebook's further experiments) on the training reviews; "
    "print the table sorted by score and save it into OUTPUT as experiments.csv "
    "and experiments.png. The full grid is 36 candidates: --quick, or the options "
    "below, shrink it.",
    groups=[
        Group(
            None,
            [
                Option(("-o", "--output"), "output folder",
                       default="skimdb_experiments"),
            ],
        ),
        Group(
            "the grid",
            [
                Option(("--hidden-layers",), "hidden layers", type=non_negative_int,
                       shown=_quick_and_full("hidden_layers"),
                       extra={"nargs": "+", "metavar": "N"}),
                Option(("--units",), "units per hidden layer", type=positive_int,
                       shown=_quick_and_full("units"),
                       extra={"nargs": "+", "metavar": "N"}),
                Option(("--loss",), "training losses", shown=_quick_and_full("loss"),
                       extra={"nargs": "+", "metavar": "LOSS"}),
                Option(("--activation",), "hidden activations",
                       shown=_quick_and_full("activation"),
                       extra={"nargs": "+", "metavar": "NAME"}),
            ],
        ),
        Group(
            "the search",
            [
                Option(("--quick",), "shrink the options not given to a run of a "
                       "minute or two", extra={"action": "store_true"}),
                Option(("--cv",), "folds", type=positive_int,
                       shown=_quick_and_full("cv")),
                Option(("--epochs",), "epochs per fit", type=positive_int,
                       shown=_quick_and_full("epochs")),
                Option(("--n-train",), "use only the first N training reviews",
                       type=positive_int,
                       shown=_quick_and_full("n_train", "all 25,000")),
                Option(("--num-words",), "vocabulary size", type=positive_int,
                       default=_owner_default("num_words")),
                Option(("--batch-size",), "reviews per gradient step",
                       type=positive_int, default=_owner_default("batch_size")),
                Option(("--scoring",), "a scikit-learn scorer", default="accuracy"),
                Option(("--n-jobs",), "fits run in parallel (-1: all cores)",
                       type=int, default=1),
                Option(("--random-state",), "seed of the networks", type=int,
                       default=0),
                Option(("--verbose",), "GridSearchCV's verbosity", type=int,
                       default=1),
            ],
        ),
        Group(
            "on a Dask cluster",
            [
                Option(("--scheduler",),
                       "run the fits on the Dask cluster of this scheduler, such as "
                       "tcp://10.0.0.5:8786 (start its workers with one thread each "
                       "and TF_NUM_INTRAOP_THREADS set: see the docs)",
                       extra={"metavar": "ADDRESS"}),
                Option(("--dask",),
                       "run the fits on a local Dask cluster (LocalCluster): one "
                       "worker process per core, TensorFlow capped to one thread in "
                       "each", extra={"action": "store_true"}),
            ],
            description='Needs pip install "skimdb[dask]"; --n-jobs is then every '
            "worker thread.",
            exclusive=True,
        ),
        _DATA,
    ],
)  # fmt: skip

#: The commands, in the order ``skimdb --help`` lists them.
COMMANDS = {
    "train": _TRAIN,
    "evaluate": _EVALUATE,
    "predict": _PREDICT,
    "explain": _EXPLAIN,
    "top-words": _TOP_WORDS,
    "mistakes": _MISTAKES,
    "experiments": _EXPERIMENTS,
}


def network_options():
    """``skimdb train``'s options that set an estimator parameter, by parameter."""
    return {
        option.param: option
        for group in COMMANDS["train"].groups
        for option in group.options
        if option.param is not None
    }


def build_parser():
    """The argument parser of the ``skimdb`` command, built from :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="skimdb",
        description="Classify IMDB movie reviews with a Keras dense network.",
        epilog="Run 'skimdb COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"skimdb {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = commands.add_parser(
            name, help=command.help, description=command.description
        )
        for group in command.groups:
            if group.title is None:
                target = sub
            else:
                target = sub.add_argument_group(group.title, group.description)
                if group.exclusive:
                    target = target.add_mutually_exclusive_group()
            for option in group.options:
                option.add_to(target)
    return parser


def parse_args(argv=None):
    """The parsed command line ``argv``.

    argparse stops filling ``TEXT ...`` at the first option after it, so in
    ``skimdb explain MODEL --n 3 "A review"`` the review would be refused as
    unrecognized: the words it leaves over are added to the reviews instead;
    anything else left over (an unknown option) is refused as argparse does.
    """
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras and hasattr(args, "text") and not any(x.startswith("-") for x in extras):
        args.text = [*args.text, *extras]
    elif extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args
