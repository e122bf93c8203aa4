#!/usr/bin/env python3
"""Write the CDNOW calibration/holdout fixture with lifetimes (the Python peer).

Usage:
    python make_cdnow_fixtures.py --transactions PATH/cdnow_sample_transactions.txt \
        --out PATH/tests/data/cdnow_holdout_lifetimes.csv

Input: the CDNOW 1/10th sample, whitespace separated, no header:
    master_id  customer_id  yyyymmdd  n_cds  dollar_value
The `customer_id` column (2nd; 1..2357) is the `ID` of shared/data/cdnow_sample_summary.csv,
so it is the id used here (`--id-col master_id` switches to the 1st column).

Output columns (one row per customer, sorted by id):
    id, frequency_cal, recency_cal, T_cal, monetary_value_cal,
    frequency_holdout, monetary_value_holdout, duration_holdout,
    n_holdout_rows, spend_holdout_total
The first eight come from lifetimes.utils.calibration_and_holdout_data(
    calibration_period_end='1997-09-30', observation_period_end='1998-06-30',
    freq='D', freq_multiplier=7, monetary_value_col='dollar_value'),
i.e. times are in weeks. The last two are computed with plain pandas from the raw rows.
Floats are written with repr() (shortest round-trip form); counts are written as integers.

What lifetimes 0.11.3 does (read from lifetimes/utils.py, and checked below):
  calibration (summary_data_from_transaction_data with a monetary column):
    * rows on the same day (same period for freq='D') are ONE purchase, their amounts SUMMED;
    * frequency_cal = distinct purchase days - 1;
    * recency_cal = (last day - first day) / 7, T_cal = (1997-09-30 - first day) / 7;
    * monetary_value_cal = mean of the per-day summed amounts of the repeat days
      (first day excluded), 0 when frequency_cal == 0.
    The calibration period includes 1997-09-30 (`date <= calibration_period_end`).
  holdout (1997-09-30 < date <= 1998-06-30):
    * frequency_holdout = number of distinct (customer, day) pairs: same-day rows count once;
    * monetary_value_holdout = mean of the RAW ROWS' amounts (NOT per-day sums!), i.e.
      spend_holdout_total / n_holdout_rows -- inconsistent with the calibration convention
      whenever a customer has two rows on one holdout day;
    * customers with no holdout rows get frequency_holdout = 0 and monetary_value_holdout = 0
      (left join on the calibration customers, then fillna(0));
    * duration_holdout = (period(1998-06-30) - period(1997-09-30)) / 7 = 273 / 7 = 39.0 for
      every customer (it is the holdout length, not per-customer);
    * customers whose first purchase is in the holdout would be dropped (left join on
      calibration); CDNOW has none (all first purchases are in 1997 Q1).
"""
import argparse
import csv
import sys
import warnings

import numpy as np
import pandas as pd
import lifetimes
from lifetimes.utils import calibration_and_holdout_data

CAL_END = "1997-09-30"
OBS_END = "1998-06-30"


def read_cdnow(path):
    tx = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "n_cds", "dollar_value"],
        dtype={"master_id": np.int64, "customer_id": np.int64, "date": str,
               "n_cds": np.int64, "dollar_value": np.float64},
    )
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transactions", required=True,
                    help="path to cdnow_sample_transactions.txt (shared/data)")
    ap.add_argument("--out", required=True, help="output CSV path")
    ap.add_argument("--id-col", default="customer_id", choices=["customer_id", "master_id"])
    args = ap.parse_args()

    tx = read_cdnow(args.transactions)
    idc = args.id_col

    with warnings.catch_warnings():
        # lifetimes assigns into a slice of the holdout rows (pandas SettingWithCopyWarning).
        warnings.simplefilter("ignore")
        ch = calibration_and_holdout_data(
            tx, idc, "date",
            calibration_period_end=CAL_END,
            observation_period_end=OBS_END,
            freq="D",
            freq_multiplier=7,
            monetary_value_col="dollar_value",
        )

    # Plain-pandas totals over the raw holdout rows (no same-day merging).
    hold = tx[(tx["date"] > pd.Timestamp(CAL_END)) & (tx["date"] <= pd.Timestamp(OBS_END))]
    g = hold.groupby(idc)["dollar_value"]
    ch["n_holdout_rows"] = g.size().reindex(ch.index).fillna(0).astype(np.int64)
    ch["spend_holdout_total"] = g.sum().reindex(ch.index).fillna(0.0)
    ch = ch.sort_index()

    # Self-checks of the conventions documented above.
    assert len(ch) == tx[idc].nunique(), "a customer was dropped"
    assert (ch["duration_holdout"] == 273 / 7).all()
    has = ch["n_holdout_rows"] > 0
    assert np.allclose(ch.loc[has, "monetary_value_holdout"],
                       ch.loc[has, "spend_holdout_total"] / ch.loc[has, "n_holdout_rows"],
                       rtol=1e-12, atol=1e-12), "monetary_value_holdout is not the raw-row mean"
    assert (ch.loc[~has, ["frequency_holdout", "monetary_value_holdout"]] == 0).all().all()
    hold_days = hold.groupby(idc)["date"].nunique().reindex(ch.index).fillna(0)
    assert (ch["frequency_holdout"] == hold_days).all()
    n_same_day = int((ch["n_holdout_rows"] != ch["frequency_holdout"]).sum())

    cols_int = ["frequency_cal", "frequency_holdout", "n_holdout_rows"]
    cols = ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal",
            "frequency_holdout", "monetary_value_holdout", "duration_holdout",
            "n_holdout_rows", "spend_holdout_total"]
    for c in cols_int:
        assert (ch[c] == np.round(ch[c])).all()
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id"] + cols)
        for cid, row in zip(ch.index, ch[cols].itertuples(index=False)):
            out = [str(int(cid))]
            for c, v in zip(cols, row):
                out.append(str(int(v)) if c in cols_int else repr(float(v)))
            w.writerow(out)

    print(f"wrote {len(ch)} customers to {args.out} "
          f"(lifetimes {lifetimes.__version__}, pandas {pd.__version__}); "
          f"{int(has.sum())} with holdout rows, {n_same_day} with same-day holdout rows",
          file=sys.stderr)


if __name__ == "__main__":
    main()
