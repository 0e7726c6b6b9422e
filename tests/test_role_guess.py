"""Which column is the label, the split and the group, on public tables no one here wrote.

Each case is a real file in a real format (CSV as the dataset ships it, sklearn's bundled
sets written as frames, an Excel workbook with a README first sheet), read by the same
reader the app and the CLI use, and the expected column is the one a person would pick.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import palmerpenguins
import pytest
from sklearn import datasets as skdata

import balance_core as bc
from balance_core.readers.roles import guess_sheet

PENGUINS = Path(palmerpenguins.__file__).parent / "data"

# The first rows of R's MASS::survey (Venables & Ripley), as write.csv writes them.
SURVEY = (
    b'"","Sex","Wr.Hnd","NW.Hnd","W.Hnd","Fold","Pulse","Clap","Exer","Smoke","Height",'
    b'"M.I","Age"\n'
    b""""1","Female",18.5,18,"Right","R on L",92,"Left","Some","Never",173,"Metric",18.25
"2","Male",19.5,20.5,"Left","R on L",104,"Left","None","Regul",177.8,"Imperial",17.583
"3","Male",18,13.3,"Right","L on R",87,"Neither","None","Occas",NA,NA,16.917
"4","Male",18.8,18.9,"Right","R on L",NA,"Neither","None","Never",160,"Metric",20.333
"5","Male",20,20,"Right","Neither",35,"Right","Some","Never",165,"Metric",23.667
"6","Female",18,17.7,"Right","L on R",64,"Right","Some","Never",172.72,"Imperial",21
"7","Male",17.7,17.7,"Right","L on R",83,"Right","Freq","Never",182.88,"Imperial",18.833
"8","Female",17,17.3,"Right","R on L",74,"Right","Freq","Never",157,"Metric",35.833
"9","Male",20,19.5,"Right","R on L",72,"Right","Some","Never",175,"Metric",19
"10","Male",18.5,18.5,"Right","R on L",90,"Right","Some","Never",167,"Metric",22.333
"""
)

TITANIC = b"""PassengerId,Survived,Pclass,Name,Sex,Age,SibSp,Parch,Ticket,Fare,Cabin,Embarked
1,0,3,"Braund, Mr. Owen Harris",male,22,1,0,A/5 21171,7.25,,S
2,1,1,"Cumings, Mrs. John Bradley (Florence Briggs Thayer)",female,38,1,0,PC 17599,71.2833,C85,C
3,1,3,"Heikkinen, Miss. Laina",female,26,0,0,STON/O2. 3101282,7.925,,S
4,1,1,"Futrelle, Mrs. Jacques Heath (Lily May Peel)",female,35,1,0,113803,53.1,C123,S
5,0,3,"Allen, Mr. William Henry",male,35,0,0,373450,8.05,,S
6,0,3,"Moran, Mr. James",male,,0,0,330877,8.4583,,Q
7,0,1,"McCarthy, Mr. Timothy J",male,54,0,0,17463,51.8625,E46,S
8,0,3,"Palsson, Master. Gosta Leonard",male,2,3,1,349909,21.075,,S
"""


def sklearn_csv(loader) -> bytes:
    """A scikit-learn bundled dataset as the frame ``as_frame=True`` gives, saved as CSV."""
    return loader(as_frame=True).frame.to_csv(index=False).encode()


CASES = {
    "penguins.csv": (lambda: (PENGUINS / "penguins.csv").read_bytes(), "species", None, None),
    "penguins-raw.csv": (
        lambda: (PENGUINS / "penguins-raw.csv").read_bytes(),
        "Species",
        None,
        None,
    ),
    "survey.csv": (lambda: SURVEY, None, None, None),
    "titanic.csv": (lambda: TITANIC, "Survived", None, None),
    "iris.csv": (lambda: sklearn_csv(skdata.load_iris), "target", None, None),
    "wine.csv": (lambda: sklearn_csv(skdata.load_wine), "target", None, None),
    "breast_cancer.csv": (lambda: sklearn_csv(skdata.load_breast_cancer), "target", None, None),
    "digits.csv": (lambda: sklearn_csv(skdata.load_digits), "target", None, None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_guess_is_the_column_a_person_would_pick(name):
    data, label, split, group = CASES[name]
    dataset = bc.read_dataset(data(), name=name)
    roles = dataset.roles
    if label is not None:
        assert roles.label == label, roles.reasons
    assert roles.split == split, roles.reasons
    assert roles.group == group, roles.reasons
    assert roles.reasons["label"]  # every guess says why


def test_penguins_label_is_species_not_sex():
    roles = bc.read_dataset((PENGUINS / "penguins.csv").read_bytes(), name="p.csv").roles
    assert roles.label == "species" and "common name" in roles.reasons["label"]


def test_survey_fold_is_not_a_split_and_the_reason_says_so():
    roles = bc.read_dataset(SURVEY, name="survey.csv").roles
    assert roles.split is None
    assert "'Fold' is named like a split column" in roles.reasons["split"]
    # Sex describes the student; a question the survey asked is the better label.
    assert roles.label == "W.Hnd"


def test_a_fold_column_of_split_names_is_still_the_split():
    body = "".join(f"{i}.png,{'a' if i % 3 else 'b'},{('train', 'val', 'test')[i % 3]}\n"
                   for i in range(30))  # fmt: skip
    roles = bc.read_dataset(("path,label,Fold\n" + body).encode(), name="x.csv").roles
    assert roles.split == "Fold"


def test_an_excel_workbook_with_a_readme_first_sheet_reads_the_data_sheet():
    workbook = openpyxl.Workbook()
    readme = workbook.active
    readme.title = "README"
    readme.append(["About this file"])
    readme.append(["Collected in 2024; one row per penguin."])
    data = workbook.create_sheet("penguins")
    data.append(["species", "island", "bill_length_mm", "sex"])
    for index in range(30):
        data.append([("Adelie", "Gentoo", "Chinstrap")[index % 3], "Biscoe", 39.1, "male"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    dataset = bc.read_dataset(buffer.getvalue(), name="penguins.xlsx")
    assert dataset.source.sheet == "penguins"
    assert dataset.source.other_sheets == ("README",)
    assert dataset.n_rows == 30 and dataset.roles.label == "species"
    with pytest.raises(bc.DatasetError) as caught:  # an explicit sheet still wins
        bc.read_dataset(buffer.getvalue(), name="penguins.xlsx", sheet="README")
    assert caught.value.kind == "no_label_column"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Sheet1"], "Sheet1"),
        (["README", "data"], "data"),
        (["Read Me", "Notes", "labels", "extra"], "labels"),
        (["data", "README"], "data"),
        (["About"], "About"),  # nothing else to read
    ],
)
def test_guess_sheet(names, expected):
    assert guess_sheet(names)[0] == expected
