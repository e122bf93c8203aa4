import pathlib

import pytest

#: The Rust crate's fixtures (lifetimes' and pandas' numbers on CDNOW), shared with its tests.
DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"


@pytest.fixture(scope="session")
def data_dir():
    return DATA
