"""The checks of ``ReviewEncoder``'s saved state: its ``_get_saved_state``
and ``_from_saved_state`` (the last block of the class) run them."""

from skimdb.persistence._format import check_int_in


def _probe_fit(encoder):
    if encoder.word_index is None:
        return encoder.fit(["a"])
    tiny = encoder.word_index if isinstance(encoder.word_index, dict) else {"a": 1}
    return encoder.set_params(word_index=tiny).fit()


def _check_saved_word_index(value, step):
    """What fit keeps: ranks below ``num_words - index_from``, as many words at
    most, and at most the format's bound on a saved dict."""
    from skimdb.persistence import _format

    if not isinstance(value, dict):
        raise TypeError(f"must be a dict; got {type(value).__name__}")
    most = _format.MAX_WORD_INDEX
    limit = (
        _format.MAX_WIDTH
        if step.num_words is None
        else step.num_words - step.index_from
    )
    if len(value) > most or len(value) > max(limit, 0):
        raise ValueError(
            f"holds {len(value)} words; a saved word index holds at most {most}"
            + (
                ""
                if step.num_words is None
                else f", and at most {max(limit, 0)} "
                f"with num_words={step.num_words} and index_from={step.index_from}"
            )
        )
    high = _format.MAX_WIDTH if step.num_words is None else limit - 1
    for word, rank in value.items():
        if type(word) is str and type(rank) is int and 0 <= rank <= high:
            continue  # the common case, checked cheaply (a million words a second)
        if not isinstance(word, str):
            raise TypeError(f"the word {word!r:.40} is not a str")
        check_int_in(rank, 0, high, f"the rank of {word!r:.40}")


_ENCODER_STATE = {"word_index_": _check_saved_word_index}
