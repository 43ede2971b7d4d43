"""A tiny, hand-written term bundle for tests, with hooks to break it one file at a time."""
# ruff: noqa: E501  (CSV fixtures read best one row per line)

from __future__ import annotations

from pathlib import Path

TERM_TOML = """\
name = "Tiny Term"
start = 2027-01-25
end = 2027-05-28
timezone = "America/Denver"

[rules]
max_travel_min = 45
seed = 7

[rules.priority]
first_gen = 3
"""

STUDENTS_CSV = """\
student_id,name,email,school,grade,birth_date,origin_lat,origin_lon,origin_address,transport,max_travel_min,available,flags,guardian_consent,work_permit,prior_clusters,group
S1,Ana Ruiz,ana@students.example.org,North High,11,2010-03-02,39.7508,-104.9966,,transit,,"Tue,Thu 13:00-17:00",first_gen;low_income,true,false,Health Science,G1
S2,Ben Okafor,ben@students.example.org,North High,12,2009-01-15,39.7392,-104.9903,,car,60,,,true,true,,G1
S3,Cai Lin,cai@students.example.org,East High,9,2012-06-30,,,"3210 Race St, Denver, CO 80205",walk,,Mon-Fri 14:00-17:00,no_prior_wbl,false,false,,
"""

HOSTS_CSV = """\
host_id,name,career_cluster,lat,lon,address,max_students,mentor_background_checked
H1,Platte River Dental Group,Health Science,39.7527,-105.0001,"1701 Wynkoop St, Denver, CO 80202",3,true
H2,"Front Range Robotics, Inc.",Manufacturing,39.7687,-104.9792,,,false
"""

OPPORTUNITIES_CSV = """\
opportunity_id,host_id,kind,title,career_cluster,capacity,schedule,min_age,min_grade,requires_consent,requires_work_permit,hazardous,remote,hours
O1,H1,job_shadow,Dental Office Shadow,Health Science,2,2027-02-10 09:00-12:00;2027-02-17 09:00-12:00,,,true,false,false,false,
O2,H2,internship,Robotics Assembly Intern,Manufacturing,1,"2027-02-01/2027-04-30 Tue,Thu 13:30-16:30",16,10,true,true,false,false,
O3,H2,micro_internship,CAD Cleanup Project,Manufacturing,3,2027-02-01/2027-03-15 flexible,,,false,false,false,true,20
"""

PREFERENCES_CSV = """\
student_id,opportunity_id,rank
S1,O1,1
S1,O2,2
S2,O2,1
S2,O3,1
"""

HOST_REVIEWS_CSV = """\
opportunity_id,student_id,decision,rank
O2,S1,accept,2
O2,S2,accept,1
O1,S3,veto,
"""

FILES = {
    "term.toml": TERM_TOML,
    "students.csv": STUDENTS_CSV,
    "hosts.csv": HOSTS_CSV,
    "opportunities.csv": OPPORTUNITIES_CSV,
    "preferences.csv": PREFERENCES_CSV,
    "host_reviews.csv": HOST_REVIEWS_CSV,
}


def write_tiny_bundle(folder: Path, **replace: str | bytes | None) -> Path:
    """Write the tiny bundle into ``folder``; ``students_csv="..."`` replaces a file's content
    (bytes are written as they are), and ``None`` leaves the file out."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        content = replace.get(name.replace(".", "_"), text)
        if content is None:
            continue
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def write_broken_bundle(folder: Path) -> Path:
    """The tiny bundle with one of each kind of mistake a coordinator makes (see test_bundle)."""
    students = STUDENTS_CSV
    students = students.replace("S2,Ben", "S1,Ben")  # duplicate id
    students = students.replace("2010-03-02", "2010-02-30")  # bad date
    students = students.replace("39.7392,-104.9903", "97.5,-104.9903")  # latitude out of range
    students = students.replace(",car,", ",hovercraft,")  # unknown transport
    opportunities = OPPORTUNITIES_CSV
    opportunities = opportunities.replace("2027-02-17 09:00-12:00", "every other Tuesday")
    opportunities = opportunities.replace("O3,H2,micro_internship", "O3,H9,apprenticeship")
    preferences = PREFERENCES_CSV
    preferences = preferences.replace("S1,O2,2", "S1,O2,0")  # rank not positive
    preferences = preferences.replace("S2,O3,1", "S9,O3,1")  # unknown id
    return write_tiny_bundle(
        folder,
        term_toml=TERM_TOML.encode() + "# caf\xe9\n".encode("latin-1"),  # not UTF-8
        students_csv=b"\xef\xbb\xbf" + students.encode(),  # byte-order mark
        hosts_csv=HOSTS_CSV.replace("host_id,name,", "host_id,title,"),  # required column gone
        opportunities_csv=opportunities,
        preferences_csv=preferences,
    )
