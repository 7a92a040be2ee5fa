"""Sentence cutting of a streamed answer: as soon as a sentence ends, never inside SSML or "e.g."."""

from audiocodes_endpoint.features.llm.sentences import SentenceSplitter


def feed_all(pieces, min_chars=20):
    splitter = SentenceSplitter(min_chars)
    out = [(i, s) for i, piece in enumerate(pieces) for s in splitter.feed(piece)]
    return out, splitter.flush()


def test_a_sentence_is_ready_the_moment_its_end_arrives():
    out, rest = feed_all(["Your balance is", " 120 euros.", " Anything", " else I can do?"])
    assert out == [(1, "Your balance is 120 euros."), (3, "Anything else I can do?")]
    assert rest is None


def test_a_number_at_the_end_of_what_arrived_waits_for_the_next_piece():
    out, rest = feed_all(["The rate today is 3.", "5 percent, fixed. ", "Good"])
    assert out == [(1, "The rate today is 3.5 percent, fixed.")] and rest == "Good"


def test_short_sentences_wait_for_the_next_one():
    out, rest = feed_all(["Yes. ", "Your transfer of 50 euros was sent. ", "Bye."])
    assert out == [(1, "Yes. Your transfer of 50 euros was sent.")]
    assert rest == "Bye."


def test_abbreviations_and_decimals_do_not_end_a_sentence():
    out, _ = feed_all(["Rates, e.g. the fixed one, are 3.5 percent today. ", "Dr. Smith agrees. More"], 10)
    assert out == [(0, "Rates, e.g. the fixed one, are 3.5 percent today."), (1, "Dr. Smith agrees.")]


def test_nothing_is_cut_inside_an_ssml_tag_and_a_speak_document_stays_whole():
    out, _ = feed_all(['This is long enough to say. <break time="1.5s"/> ', "And more. Fine. "], min_chars=5)
    assert [s for _, s in out] == ["This is long enough to say.", '<break time="1.5s"/> And more.', "Fine."]
    out, rest = feed_all(["<speak>Hello there my friend. ", "How are you today? </speak>"], min_chars=5)
    assert out == [] and rest == "<speak>Hello there my friend. How are you today? </speak>"


def test_a_line_break_flushes_even_a_short_line():
    out, rest = feed_all(["Options:\n", "one\n", "two"])
    assert [s for _, s in out] == ["Options:", "one"] and rest == "two"
