"""A seeded generator of realistic term bundles for the Denver metro, at any size.

``generate_bundle(out_dir, students=N, seed=S)`` writes a complete term bundle (DESIGN.md, "Term
bundle") for Spring 2027 in Denver, Colorado: real neighbourhoods, ZIP codes and streets;
fictional students, schools and employers. Hosts cluster in real employment areas, students live
scattered around real neighbourhoods, schools release students at different times, and
preferences lean towards popular, nearby opportunities in each student's fields of interest, so a
solve has real trade-offs to make.

The output is a pure function of ``(students, seed, name)``: the same arguments give byte-identical
files (one ``random.Random(seed)``, no clock, no set or hash ordering). Rows are streamed to the
CSV files, so 50,000 students take seconds and little memory. ``fixtures/sample-term`` is this
generator's output for 400 students, seed 2027, and a test keeps it that way.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from random import Random
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import icalendar
import tomli_w

from wbl.bundle import (
    HOST_COLUMNS,
    OPPORTUNITY_COLUMNS,
    PREFERENCE_COLUMNS,
    REVIEW_COLUMNS,
    STUDENT_COLUMNS,
)
from wbl.rules import Rules

TIMEZONE = "America/Denver"
TERM_START = date(2027, 1, 25)
TERM_END = date(2027, 5, 28)
SPRING_BREAK = (date(2027, 3, 22), date(2027, 3, 26))
HOLIDAYS = (date(2027, 2, 15),)  # Presidents' Day: no job shadows scheduled
DEFAULT_SEED = 0

# The Denver metro box every generated coordinate stays in.
LAT_RANGE = (39.60, 39.85)
LON_RANGE = (-105.10, -104.70)

# The term's rules: the defaults, a shorter solve, and priority weights for the equity flags.
RULES = Rules(
    time_limit_s=30,
    priority={"first_gen": 3, "low_income": 3, "no_prior_wbl": 2, "ell": 1, "iep": 1},
)

HOSTS_PER_STUDENT = 0.3
OPPORTUNITIES_PER_STUDENT = 0.625
KIND_SHARES = (("job_shadow", 0.45), ("internship", 0.35), ("micro_internship", 0.20))


# --- places -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A real neighbourhood or employment area: centroid, ZIP code, city and a few real streets."""

    name: str
    lat: float
    lon: float
    zip_code: str
    city: str
    streets: tuple[str, ...]
    weight: float = 1.0
    clusters: tuple[tuple[str, int], ...] = ()


HEALTH = "Health Science"
IT = "Information Technology"
MANUFACTURING = "Manufacturing"
CONSTRUCTION = "Architecture & Construction"
FINANCE = "Finance"
HOSPITALITY = "Hospitality & Tourism"
ARTS = "Arts, A/V Technology & Communications"
LAW = "Law, Public Safety, Corrections & Security"
TRANSPORTATION = "Transportation, Distribution & Logistics"
AGRICULTURE = "Agriculture, Food & Natural Resources"
EDUCATION = "Education & Training"
GOVERNMENT = "Government & Public Administration"
HUMAN_SERVICES = "Human Services"
MARKETING = "Marketing"
BUSINESS = "Business Management & Administration"
STEM = "Science, Technology, Engineering & Mathematics"
CLUSTERS = (
    AGRICULTURE,
    CONSTRUCTION,
    ARTS,
    BUSINESS,
    EDUCATION,
    FINANCE,
    GOVERNMENT,
    HEALTH,
    HOSPITALITY,
    HUMAN_SERVICES,
    IT,
    LAW,
    MANUFACTURING,
    MARKETING,
    STEM,
    TRANSPORTATION,
)

# Student home neighbourhoods; weight is roughly how many high-schoolers live there.
NEIGHBOURHOODS = (
    Place("Five Points", 39.7555, -104.9790, "80205", "Denver",
          ("Welton St", "Washington St", "Champa St", "Glenarm Pl", "California St"), 2),
    Place("Capitol Hill", 39.7316, -104.9790, "80203", "Denver",
          ("Pennsylvania St", "Pearl St", "Clarkson St", "E 13th Ave", "Emerson St"), 1.5),
    Place("Montbello", 39.7830, -104.8380, "80239", "Denver",
          ("Crown Blvd", "Albrook Dr", "Andrews Dr", "Dunkirk St", "E 48th Ave"), 3),
    Place("Green Valley Ranch", 39.7930, -104.7700, "80249", "Denver",
          ("Green Valley Ranch Blvd", "Kittredge St", "Jebel St", "Argonne St", "E 48th Ave"), 3),
    Place("Westwood", 39.6990, -105.0400, "80219", "Denver",
          ("W Mississippi Ave", "S Irving St", "S Knox Ct", "W Kentucky Ave", "Morrison Rd"), 3),
    Place("Barnum", 39.7185, -105.0320, "80219", "Denver",
          ("Hooker St", "Knox Ct", "W 1st Ave", "W 4th Ave", "Julian St"), 2),
    Place("Sun Valley", 39.7320, -105.0180, "80204", "Denver",
          ("Decatur St", "Bryant St", "W 11th Ave", "W 13th Ave"), 1),
    Place("Globeville", 39.7835, -104.9810, "80216", "Denver",
          ("Lincoln St", "Logan St", "Pennsylvania St", "E 45th Ave", "Grant St"), 1),
    Place("Elyria-Swansea", 39.7850, -104.9560, "80216", "Denver",
          ("E 47th Ave", "Columbine St", "Josephine St", "Steele St", "Clayton St"), 1.5),
    Place("Cole", 39.7640, -104.9610, "80205", "Denver",
          ("Gaylord St", "Vine St", "E 34th Ave", "Race St", "Williams St"), 1),
    Place("North Park Hill", 39.7560, -104.9250, "80207", "Denver",
          ("Dahlia St", "Krameria St", "E 26th Ave", "Montview Blvd", "Forest St"), 2),
    Place("Northeast Park Hill", 39.7660, -104.9210, "80207", "Denver",
          ("E 35th Ave", "Holly St", "Kearney St", "E 33rd Ave", "Leyden St"), 1.5),
    Place("Highland", 39.7600, -105.0110, "80211", "Denver",
          ("Tejon St", "Zuni St", "W 32nd Ave", "Navajo St", "Osage St"), 1),
    Place("Sunnyside", 39.7740, -105.0100, "80211", "Denver",
          ("W 44th Ave", "Pecos St", "Shoshone St", "W 41st Ave", "Alcott St"), 1.5),
    Place("Baker", 39.7170, -104.9920, "80223", "Denver",
          ("Cherokee St", "Elati St", "Fox St", "Acoma St", "W Cedar Ave"), 1),
    Place("Lincoln Park", 39.7340, -104.9990, "80204", "Denver",
          ("Navajo St", "Mariposa St", "W 10th Ave", "Osage St", "Lipan St"), 1),
    Place("Villa Park", 39.7335, -105.0320, "80204", "Denver",
          ("Irving St", "W 8th Ave", "Knox Ct", "Hazel Ct"), 1.5),
    Place("Athmar Park", 39.7020, -105.0140, "80223", "Denver",
          ("S Raritan St", "S Pecos St", "W Kentucky Ave", "S Tejon St"), 1.5),
    Place("Ruby Hill", 39.6860, -105.0040, "80223", "Denver",
          ("S Navajo St", "W Florida Ave", "S Lipan St", "W Iliff Ave"), 1.5),
    Place("Mar Lee", 39.6870, -105.0530, "80219", "Denver",
          ("S Lowell Blvd", "W Florida Ave", "S Newton St", "S Perry St"), 2),
    Place("Harvey Park", 39.6750, -105.0380, "80219", "Denver",
          ("S Stuart St", "W Jewell Ave", "W Evans Ave", "S Osceola St"), 2),
    Place("Virginia Village", 39.6860, -104.9300, "80222", "Denver",
          ("S Holly St", "E Florida Ave", "S Jasmine St", "E Mexico Ave"), 1.5),
    Place("Hampden", 39.6555, -104.8890, "80231", "Denver",
          ("S Dayton St", "E Girard Ave", "S Galena Way", "E Jewell Ave"), 1.5),
    Place("East Colfax", 39.7390, -104.8960, "80220", "Denver",
          ("Xenia St", "Yosemite St", "E 14th Ave", "Willow St", "Verbena St"), 2),
    Place("Central Park", 39.7610, -104.8850, "80238", "Denver",
          ("Syracuse St", "E 35th Ave", "Uinta St", "Central Park Blvd", "Valentia St"), 2),
    Place("Original Aurora", 39.7400, -104.8500, "80010", "Aurora",
          ("Dallas St", "Elmira St", "E 14th Ave", "Peoria St", "Galena St"), 3),
    Place("Lakewood (Two Creeks)", 39.7105, -105.0810, "80226", "Lakewood",
          ("Teller St", "W 1st Ave", "Wadsworth Blvd", "Reed St"), 2),
    Place("Englewood", 39.6480, -104.9880, "80110", "Englewood",
          ("S Logan St", "E Floyd Ave", "S Sherman St", "S Grant St"), 1.5),
    Place("Commerce City", 39.8110, -104.9260, "80022", "Commerce City",
          ("E 64th Ave", "Monaco St", "Kearney St", "E 60th Ave", "Olive St"), 2),
)  # fmt: skip

# Where employers are; clusters says which kinds of employer each area has and how often.
AREAS = (
    Place("Downtown / LoDo", 39.7500, -104.9960, "80202", "Denver",
          ("17th St", "Larimer St", "Blake St", "Wazee St", "California St", "Curtis St"), 14,
          ((FINANCE, 3), (LAW, 3), (BUSINESS, 3), (MARKETING, 2), (IT, 2), (HOSPITALITY, 2),
           (ARTS, 1), (GOVERNMENT, 1))),
    Place("Civic Center / Golden Triangle", 39.7355, -104.9905, "80204", "Denver",
          ("Bannock St", "W 14th Ave", "Cherokee St", "Acoma St", "W 13th Ave"), 6,
          ((GOVERNMENT, 5), (LAW, 4), (ARTS, 2), (EDUCATION, 1), (HUMAN_SERVICES, 1))),
    Place("Cherry Creek", 39.7185, -104.9535, "80206", "Denver",
          ("E 1st Ave", "Fillmore St", "Detroit St", "E 2nd Ave", "Steele St"), 7,
          ((MARKETING, 3), (FINANCE, 2), (HOSPITALITY, 2), (BUSINESS, 2), (HEALTH, 1), (ARTS, 1))),
    Place("Denver Tech Center", 39.6230, -104.8950, "80111", "Greenwood Village",
          ("E Belleview Ave", "S Syracuse Way", "DTC Pkwy", "E Orchard Rd", "S Ulster St"), 9,
          ((IT, 4), (BUSINESS, 3), (FINANCE, 2), (STEM, 2), (MARKETING, 1))),
    Place("Anschutz Medical Campus", 39.7455, -104.8385, "80045", "Aurora",
          ("E 17th Pl", "Montview Blvd", "E 19th Ave", "Wheeling St", "Victor St"), 8,
          ((HEALTH, 5), (STEM, 3), (EDUCATION, 1), (HUMAN_SERVICES, 1))),
    Place("Central Park", 39.7610, -104.8810, "80238", "Denver",
          ("Central Park Blvd", "E 29th Dr", "Martin Luther King Jr Blvd", "Northfield Blvd"), 6,
          ((EDUCATION, 2), (HOSPITALITY, 2), (HEALTH, 1), (BUSINESS, 1), (HUMAN_SERVICES, 1),
           (STEM, 1))),
    Place("RiNo", 39.7690, -104.9790, "80205", "Denver",
          ("Walnut St", "Larimer St", "Blake St", "Lawrence St", "Downing St"), 7,
          ((ARTS, 4), (HOSPITALITY, 3), (MANUFACTURING, 2), (MARKETING, 2), (IT, 1),
           (CONSTRUCTION, 1))),
    Place("Belmar / Lakewood Civic Center", 39.7080, -105.0820, "80226", "Lakewood",
          ("W Alameda Ave", "Wadsworth Blvd", "Teller St", "S Allison Pkwy", "W Virginia Ave"), 6,
          ((GOVERNMENT, 3), (STEM, 2), (HEALTH, 1), (BUSINESS, 1), (CONSTRUCTION, 1))),
    Place("Airport corridor / Gateway", 39.7900, -104.7700, "80249", "Denver",
          ("Tower Rd", "E 40th Ave", "E 38th Ave", "Himalaya Rd"), 5,
          ((TRANSPORTATION, 5), (HOSPITALITY, 3), (BUSINESS, 1), (LAW, 1))),
    Place("Commerce City industrial", 39.8140, -104.9240, "80022", "Commerce City",
          ("E 56th Ave", "Vasquez Blvd", "Quebec Pkwy", "E 64th Ave", "Holly St"), 5,
          ((MANUFACTURING, 4), (TRANSPORTATION, 3), (AGRICULTURE, 2), (CONSTRUCTION, 2))),
    Place("Santa Fe Arts District", 39.7290, -104.9985, "80204", "Denver",
          ("Santa Fe Dr", "Kalamath St", "W 8th Ave", "Inca St", "W 10th Ave"), 5,
          ((ARTS, 3), (HUMAN_SERVICES, 2), (EDUCATION, 2), (HEALTH, 1))),
    Place("Englewood medical district", 39.6545, -104.9820, "80113", "Englewood",
          ("E Girard Ave", "S Clarkson St", "S Lafayette St", "E Hampden Ave"), 4,
          ((HEALTH, 5), (HUMAN_SERVICES, 1))),
    Place("Globeville / National Western", 39.7830, -104.9720, "80216", "Denver",
          ("E 47th Ave", "Washington St", "Brighton Blvd", "E 46th Ave", "Humboldt St"), 3,
          ((AGRICULTURE, 4), (MANUFACTURING, 2), (TRANSPORTATION, 2), (STEM, 1))),
    Place("Lowry", 39.7200, -104.8930, "80230", "Denver",
          ("E Lowry Blvd", "Quebec St", "Yosemite St", "E 6th Ave", "Akron Way"), 4,
          ((EDUCATION, 3), (CONSTRUCTION, 1), (BUSINESS, 1), (HOSPITALITY, 1),
           (HUMAN_SERVICES, 1))),
    Place("Federal Blvd / Westwood", 39.7000, -105.0250, "80219", "Denver",
          ("S Federal Blvd", "W Alameda Ave", "Morrison Rd", "W Mississippi Ave"), 5,
          ((BUSINESS, 2), (HOSPITALITY, 2), (HUMAN_SERVICES, 2), (MARKETING, 1), (HEALTH, 1),
           (TRANSPORTATION, 1))),
    Place("Montbello / Peoria corridor", 39.7840, -104.8460, "80239", "Denver",
          ("Peoria St", "E 48th Ave", "Albrook Dr", "Crown Blvd", "E 51st Ave"), 4,
          ((TRANSPORTATION, 2), (MANUFACTURING, 2), (HUMAN_SERVICES, 1), (EDUCATION, 1),
           (BUSINESS, 1))),
    Place("University of Denver area", 39.6780, -104.9620, "80210", "Denver",
          ("S University Blvd", "E Evans Ave", "S High St", "E Asbury Ave", "S Gaylord St"), 4,
          ((EDUCATION, 2), (STEM, 2), (IT, 1), (ARTS, 1), (HOSPITALITY, 1))),
    Place("Aurora City Center / Havana", 39.7060, -104.8400, "80012", "Aurora",
          ("S Havana St", "E Alameda Ave", "E Mississippi Ave", "S Sable Blvd"), 5,
          ((GOVERNMENT, 2), (HOSPITALITY, 2), (BUSINESS, 2), (HEALTH, 1), (LAW, 1),
           (HUMAN_SERVICES, 1))),
    Place("Uptown hospital district", 39.7460, -104.9710, "80218", "Denver",
          ("E 19th Ave", "E 18th Ave", "Franklin St", "Downing St", "High St"), 5,
          ((HEALTH, 4), (HUMAN_SERVICES, 1), (HOSPITALITY, 1))),
)  # fmt: skip


@dataclass(frozen=True)
class School:
    name: str
    home: int  # index into NEIGHBOURHOODS
    available: str  # release windows; blank: any weekday 08:00-18:00


# Release periods differ by school; that is what makes some schedules fit some students only.
SCHOOL_WINDOWS = (
    "Mon-Fri 13:00-17:00",
    "Tue,Thu 12:30-17:00",
    "Wed 08:00-17:00|Fri 12:00-17:00",
    "",
    "Mon,Wed 14:00-18:00",
    "Mon-Fri 14:30-18:00",
)
BASE_SCHOOLS = (
    ("Five Points Early College High School", "Five Points"),
    ("Montbello Career Academy", "Montbello"),
    ("Westwood STEM High School", "Westwood"),
    ("La Alma Arts & Sciences High School", "Lincoln Park"),
    ("Park Hill Collegiate High School", "North Park Hill"),
    ("Green Valley Ranch Prep", "Green Valley Ranch"),
)
EXTRA_SCHOOL_SUFFIXES = ("Community High School", "Early College", "Academy", "Collegiate Prep")
STUDENTS_PER_EXTRA_SCHOOL = 1500

# Some students have their own windows: a job, sports, online classes, a hybrid schedule.
INDIVIDUAL_WINDOWS = (
    "Mon,Wed 15:00-18:00",
    "Tue-Thu 14:00-17:30",
    "Fri 12:00-18:00",
    "Mon-Fri 15:30-18:00",
    "Tue,Thu 13:00-18:00|Sat 09:00-13:00",
    "Mon-Fri 08:00-12:00",
    "Wed 12:00-18:00|Fri 12:00-18:00",
    "Mon-Fri 10:00-16:00",
)

# --- employers and titles ---------------------------------------------------------------------

NAME_PREFIXES = (
    "Platte River", "Front Range", "Mile High", "Cherry Creek", "Larimer", "Colfax", "Sand Creek",
    "Bluebird", "Columbine", "Centennial", "Rocky Mountain", "High Plains", "Red Rocks",
    "Sloan Lake", "Clear Creek", "Summit", "Aspen Grove", "Blue Spruce", "Lark Bunting",
    "Arapahoe", "Highline", "Confluence", "Cottonwood", "Foothills", "Timberline", "Pikes Peak",
    "Wash Park", "City Park", "South Platte", "Peak View", "Eastside", "Northside", "Elk Ridge",
    "Blue Sky", "Welton Street", "Montview", "Santa Fe", "Juniper", "Prairie Wind", "Bear Creek",
    "Tennyson", "Granite Peak",
)  # fmt: skip


@dataclass(frozen=True)
class ClusterTexts:
    employers: tuple[str, ...]
    shadows: tuple[str, ...]
    internships: tuple[str, ...]
    micros: tuple[str, ...]


CLUSTER_TEXTS = {
    HEALTH: ClusterTexts(
        ("Dental Group", "Family Clinic", "Pediatrics", "Physical Therapy",
         "Community Health Center", "Animal Hospital", "Pharmacy", "Medical Imaging",
         "Urgent Care", "Eye Care", "Medical Center"),
        ("Pharmacy Tech Shadow", "Dental Hygiene Shadow", "Nursing Shadow Day",
         "Physical Therapy Shadow", "Veterinary Clinic Shadow", "Radiology Shadow",
         "Emergency Department Shadow", "Medical Lab Shadow"),
        ("Patient Services Internship", "Medical Assistant Internship",
         "Clinic Operations Internship", "Health Data Internship", "Pharmacy Assistant Internship",
         "Veterinary Assistant Internship"),
        ("Health Education Flyer Project", "Patient Survey Analysis",
         "Community Health Resource Map", "Bilingual Clinic Social Media Posts"),
    ),
    IT: ClusterTexts(
        ("Software", "Data Labs", "Cyber Defense", "Web Studio", "Cloud Systems", "IT Services",
         "Game Studio"),
        ("Software Engineer Shadow", "Help Desk Shadow", "Network Operations Shadow",
         "Cybersecurity Analyst Shadow", "UX Designer Shadow"),
        ("Junior Web Developer Internship", "IT Support Internship", "Data Analyst Internship",
         "QA Testing Internship", "Computer Repair Internship"),
        ("Website Accessibility Audit", "Spreadsheet Automation Project", "App Usability Testing",
         "Small-Business Website Refresh"),
    ),
    MANUFACTURING: ClusterTexts(
        ("Robotics", "Fabrication", "Machine Works", "Brewing Co.", "Precision Parts",
         "Print Works", "Outdoor Gear Co."),
        ("CNC Machinist Shadow", "Welding Shop Shadow", "Production Line Shadow",
         "Quality Control Shadow", "3D Printing Lab Shadow"),
        ("Manufacturing Technician Internship", "Quality Assurance Internship",
         "Robotics Assembly Internship", "Inventory & Supply Internship"),
        ("Shop Safety Poster Series", "Production Data Cleanup", "Product Photo Catalog"),
    ),
    CONSTRUCTION: ClusterTexts(
        ("Builders", "Electric", "Design Build", "Architects", "Plumbing & Heating",
         "Solar Installers", "Roofing"),
        ("Architect Shadow", "Electrician Shadow", "Job Site Shadow",
         "Construction Manager Shadow", "HVAC Technician Shadow"),
        ("Drafting & CAD Internship", "Construction Site Internship",
         "Solar Installation Internship", "Project Estimating Internship"),
        ("Neighborhood Accessibility Survey", "Tiny Home 3D Model",
         "Green Building Research Brief"),
    ),
    FINANCE: ClusterTexts(
        ("Credit Union", "Tax & Accounting", "Wealth Advisors", "Community Bank",
         "Insurance Agency"),
        ("Bank Teller Shadow", "Accountant Shadow", "Financial Advisor Shadow",
         "Insurance Agent Shadow"),
        ("Member Services Internship", "Bookkeeping Internship", "Financial Literacy Internship",
         "Tax Prep Internship", "Loan Operations Internship"),
        ("Budgeting Workshop Slides", "Teen Savings Survey", "Financial Literacy Video Script"),
    ),
    HOSPITALITY: ClusterTexts(
        ("Hotel", "Bistro", "Catering", "Events Center", "Coffee Roasters", "Tours", "Taqueria",
         "Bakery & Café"),
        ("Hotel Front Desk Shadow", "Chef Shadow", "Event Planner Shadow",
         "Restaurant Manager Shadow"),
        ("Culinary Internship", "Guest Services Internship", "Event Operations Internship",
         "Café Operations Internship"),
        ("Visitor Guide Research", "Menu Translation Project", "Customer Review Analysis"),
    ),
    ARTS: ClusterTexts(
        ("Media", "Community Radio", "Design Studio", "Theatre Company", "Photo Lab",
         "Film Collective", "Print & Press"),
        ("Graphic Designer Shadow", "Radio Producer Shadow", "Stage Crew Shadow",
         "Photographer Shadow", "Journalist Shadow"),
        ("Video Production Internship", "Graphic Design Internship", "Community Radio Internship",
         "Theatre Tech Internship"),
        ("Podcast Episode Edit", "Mural Concept Sketches", "Short Documentary Project",
         "Social Video Series"),
    ),
    LAW: ClusterTexts(
        ("Law Group", "Legal Aid Society", "Mediation Center", "Security Services",
         "Fire Rescue Training Center", "Immigration Law Clinic"),
        ("Paralegal Shadow", "Firefighter Shadow", "Courtroom Shadow",
         "Security Operations Shadow", "Victim Advocate Shadow"),
        ("Legal Aid Intake Internship", "Law Office Internship",
         "Emergency Preparedness Internship", "Mediation Center Internship"),
        ("Know-Your-Rights Pamphlet", "Case File Digitization", "Community Safety Survey"),
    ),
    TRANSPORTATION: ClusterTexts(
        ("Logistics", "Freight", "Auto Repair", "Aviation Services", "Transit Maintenance",
         "Bike Co-op", "Courier"),
        ("Aircraft Mechanic Shadow", "Auto Technician Shadow", "Warehouse Operations Shadow",
         "Dispatcher Shadow", "Bike Mechanic Shadow"),
        ("Auto Shop Internship", "Logistics Coordinator Internship", "Fleet Maintenance Internship",
         "Bike Mechanic Internship"),
        ("Delivery Route Analysis", "Bike Lane Count Project", "Warehouse Layout Proposal"),
    ),
    AGRICULTURE: ClusterTexts(
        ("Urban Farm", "Garden Center", "Food Bank", "Greenhouse Co-op", "Tree Care",
         "Water Lab"),
        ("Urban Farmer Shadow", "Arborist Shadow", "Water Quality Lab Shadow",
         "Food Bank Operations Shadow"),
        ("Urban Farm Internship", "Greenhouse Internship", "Food Rescue Internship",
         "Watershed Stewardship Internship"),
        ("Pollinator Garden Plan", "Food Access Map", "Compost Outreach Plan"),
    ),
    EDUCATION: ClusterTexts(
        ("Early Learning Center", "Montessori School", "Tutoring Center", "Learning Lab",
         "Science Center", "Literacy Project"),
        ("Elementary Teacher Shadow", "Preschool Teacher Shadow", "Special Education Shadow",
         "Museum Educator Shadow"),
        ("Classroom Aide Internship", "Tutoring Internship", "After-School Program Internship",
         "Museum Education Internship"),
        ("Reading Buddy Video Series", "Math Game Design", "Bilingual Homework Guide"),
    ),
    GOVERNMENT: ClusterTexts(
        ("Municipal Services", "Housing Authority", "Public Library Branch",
         "Parks & Recreation", "Water District", "Planning Office"),
        ("City Planner Shadow", "Council Office Shadow", "Librarian Shadow", "Park Ranger Shadow"),
        ("Civic Engagement Internship", "Library Services Internship",
         "Parks & Recreation Internship", "Public Works Internship"),
        ("Park Usage Survey", "Census Data Brief", "Youth Council Outreach Plan", "Open Data Map"),
    ),
    HUMAN_SERVICES: ClusterTexts(
        ("Family Resource Center", "Senior Living", "Youth Services",
         "Refugee Resettlement Partners", "Counseling Center", "Child Care"),
        ("Social Worker Shadow", "Counselor Shadow", "Senior Center Shadow",
         "Case Manager Shadow"),
        ("Youth Program Internship", "Senior Center Internship", "Family Services Internship",
         "Refugee Welcome Internship"),
        ("Resource Guide Update", "Interpreter Glossary Project", "Client Survey Summary"),
    ),
    MARKETING: ClusterTexts(
        ("Marketing Agency", "Creative", "Brand Studio", "PR Group", "Digital",
         "Market Research"),
        ("Marketing Coordinator Shadow", "Social Media Manager Shadow", "Market Research Shadow",
         "Sales Shadow"),
        ("Social Media Internship", "Marketing Assistant Internship",
         "Retail Merchandising Internship", "Public Relations Internship"),
        ("Instagram Campaign Plan", "Competitor Research Brief", "Customer Survey Design"),
    ),
    BUSINESS: ClusterTexts(
        ("Consulting", "Staffing", "Property Management", "Business Solutions", "Coworking",
         "Chamber of Commerce"),
        ("Office Manager Shadow", "HR Coordinator Shadow", "Entrepreneur Shadow",
         "Project Manager Shadow"),
        ("Office Administration Internship", "Human Resources Internship",
         "Operations Internship", "Small Business Internship"),
        ("Business Plan Review", "Process Map Project", "Onboarding Guide Refresh"),
    ),
    STEM: ClusterTexts(
        ("Engineering", "Environmental Lab", "Biotech", "Aerospace", "Geoscience",
         "Research Institute", "Energy Lab"),
        ("Lab Scientist Shadow", "Civil Engineer Shadow", "Aerospace Engineer Shadow",
         "Environmental Scientist Shadow", "Biotech Lab Shadow"),
        ("Research Lab Internship", "Engineering Internship",
         "Environmental Monitoring Internship", "Air Quality Data Internship"),
        ("Air Quality Sensor Data Project", "Citizen Science Report", "CAD Part Redesign",
         "Solar Data Analysis"),
    ),
}  # fmt: skip

# Any employer may post these alongside its own field: web, social media, the front office.
CROSS_CLUSTERS = (IT, MARKETING, BUSINESS)
# Where a share of the work is 18+ only: job sites, shop floors, auto bays.
HAZARDOUS_CLUSTERS = (CONSTRUCTION, MANUFACTURING, TRANSPORTATION)
# Shadows that can be done over video.
VIRTUAL_CLUSTERS = (IT, MARKETING, FINANCE, BUSINESS)

# How many students are interested in each field (they never see this; it steers preferences).
INTEREST_WEIGHTS = {
    HEALTH: 14, IT: 10, ARTS: 9, STEM: 8, BUSINESS: 6, EDUCATION: 6, LAW: 5, HOSPITALITY: 5,
    HUMAN_SERVICES: 5, CONSTRUCTION: 5, MARKETING: 4, FINANCE: 4, MANUFACTURING: 3,
    TRANSPORTATION: 3, GOVERNMENT: 3, AGRICULTURE: 2,
}  # fmt: skip

# --- schedules --------------------------------------------------------------------------------

SHADOW_TIMES = (
    ("09:00", "12:00"),
    ("08:30", "11:30"),
    ("13:00", "16:00"),
    ("13:30", "16:30"),
    ("14:00", "17:00"),
    ("15:00", "17:30"),
    ("12:30", "15:30"),
)
# Each fits some schools' release windows and not others (see SCHOOL_WINDOWS).
INTERNSHIP_PATTERNS = (
    ("Tue,Thu", "13:30", "16:30"),
    ("Tue,Thu", "14:00", "16:00"),
    ("Mon,Wed", "14:30", "17:30"),
    ("Mon,Wed", "14:30", "16:30"),
    ("Mon,Wed,Fri", "15:30", "17:30"),
    ("Wed", "09:00", "15:00"),
    ("Fri", "13:00", "17:00"),
    ("Mon-Thu", "15:00", "17:00"),
    ("Tue,Thu", "15:00", "18:00"),
    ("Wed", "13:00", "17:00"),
    ("Mon,Wed", "09:00", "12:00"),
)
INTERNSHIP_STARTS = (date(2027, 2, 1), date(2027, 2, 8), date(2027, 2, 16), date(2027, 3, 1))
INTERNSHIP_ENDS = (date(2027, 4, 30), date(2027, 5, 14), date(2027, 5, 21))
MICRO_SPANS = (
    (date(2027, 1, 25), date(2027, 2, 26)),
    (date(2027, 2, 1), date(2027, 3, 15)),
    (date(2027, 2, 15), date(2027, 4, 9)),
    (date(2027, 3, 29), date(2027, 5, 14)),
    (date(2027, 4, 5), date(2027, 5, 21)),
)
MICRO_HOURS = (10, 12, 15, 16, 20, 24, 30, 40)
# Calendar cohorts: iCalendar BYDAY codes, start, end.
ICS_COHORTS = (
    (("TU", "TH"), "14:00", "16:30"),
    (("WE",), "09:00", "12:00"),
    (("MO", "WE"), "15:00", "17:30"),
    (("FR",), "13:00", "16:00"),
)
ICS_FIRST_DAY = date(2027, 2, 1)
ICS_LAST_DAY = date(2027, 4, 30)
ICS_DTSTAMP = datetime(2027, 1, 4, tzinfo=UTC)
_BYDAY = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4}

# --- people -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heritage:
    weight: int
    first: tuple[str, ...]
    last: tuple[str, ...]
    ell_rate: float


HERITAGES = (
    Heritage(45,
             ("Sofía", "Mateo", "Valentina", "Santiago", "Ximena", "Diego", "Camila", "Alejandro",
              "Guadalupe", "José", "María", "Luis", "Daniela", "Jesús", "Ana", "Carlos", "Jimena",
              "Emiliano", "Yesenia", "Juan", "Itzel", "Miguel", "Andrea", "Adrián", "Jocelyn",
              "Ángel", "Fernanda", "Iker", "Brandon", "Leslie"),
             ("García", "Martínez", "Hernández", "López", "González", "Rodríguez", "Pérez",
              "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Cruz",
              "Morales", "Reyes", "Gutiérrez", "Ortiz", "Chávez", "Ruiz", "Vásquez", "Castillo",
              "Jiménez", "Mendoza", "Romero", "Salazar", "Trujillo", "Archuleta", "Montoya",
              "Maestas", "Baca"),
             0.30),
    Heritage(22,
             ("Emma", "Liam", "Olivia", "Noah", "Ava", "Owen", "Harper", "Wyatt", "Claire",
              "Henry", "Hazel", "Caleb", "Nora", "Jack", "Lucy", "Ethan", "Grace", "Levi", "Ella",
              "Samuel"),
             ("Anderson", "Miller", "Johnson", "Olson", "Schmidt", "Murphy", "Baker", "Wright",
              "Carlson", "Walsh", "Kelly", "Peterson", "Fischer", "Hansen", "Cooper", "Brooks",
              "Reed", "Bennett", "Hughes", "Larsen"),
             0.01),
    Heritage(13,
             ("Jaylen", "Aaliyah", "Malik", "Imani", "DeShawn", "Nia", "Jalen", "Zuri", "Marcus",
              "Kiara", "Darius", "Amara", "Tre", "Destiny", "Isaiah", "Jada", "Elijah", "Brianna",
              "Terrence", "Ayana"),
             ("Washington", "Jackson", "Williams", "Robinson", "Harris", "Thompson", "Coleman",
              "Jenkins", "Wallace", "Freeman", "Bryant", "Dixon", "Greene", "Holloway",
              "Simmons", "Banks"),
             0.01),
    Heritage(7,
             ("Minh", "Linh", "Bao", "Thao", "Khanh", "Anh", "Duc", "Mai", "Pema", "Sagar",
              "Sunita", "Hnin", "Wei", "Mei", "Jin", "Ji-woo", "Hana", "Kenji"),
             ("Nguyen", "Tran", "Le", "Pham", "Vu", "Hoang", "Chen", "Wang", "Liu", "Kim", "Park",
              "Lee", "Gurung", "Rai", "Thapa", "Tamang", "Win", "Htoo", "Tanaka"),
             0.30),
    Heritage(6,
             ("Abdi", "Hodan", "Mohamed", "Fartun", "Yonas", "Selam", "Hamza", "Ayan", "Dawit",
              "Hanna", "Nasra", "Bereket", "Ifrah", "Liya", "Abdirahman", "Meron"),
             ("Mohamed", "Hassan", "Ali", "Abdi", "Tesfaye", "Bekele", "Haile", "Warsame",
              "Osman", "Gebre", "Ahmed", "Mengistu", "Farah", "Yusuf"),
             0.40),
    Heritage(4,
             ("Omar", "Layla", "Yusuf", "Mariam", "Ahmad", "Noor", "Karim", "Zainab", "Farid",
              "Rania", "Sami", "Amina"),
             ("Haddad", "Al-Sayed", "Rahimi", "Saleh", "Karimi", "Nasser", "Mansour", "Hakimi",
              "Azizi", "Khalil"),
             0.35),
    Heritage(3,
             ("Shandiin", "Kai", "Nizhoni", "Dakota", "Ahiga", "Tayen", "Cheyenne", "Koda"),
             ("Begay", "Yazzie", "Tsosie", "Benally", "Nez", "Lente", "Chee", "Long Soldier"),
             0.02),
)  # fmt: skip

GRADE_WEIGHTS = ((9, 20), (10, 25), (11, 28), (12, 27))
PRIOR_WBL_RATE = {9: 0.10, 10: 0.20, 11: 0.35, 12: 0.45}

# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedSummary:
    """What :func:`generate_bundle` wrote: row counts and the folder."""

    students: int
    hosts: int
    opportunities: int
    preferences: int
    out_dir: Path


@dataclass(slots=True)
class _Host:
    code: str
    name: str
    cluster: str
    area: int
    lat: float
    lon: float
    address: str
    max_students: int | None
    checked: bool


@dataclass(slots=True)
class _Opportunity:
    code: str
    host: int
    kind: str
    title: str
    cluster: str
    capacity: int
    schedule: str
    min_age: int | None
    min_grade: int | None
    requires_consent: bool
    requires_work_permit: bool
    hazardous: bool
    remote: bool
    hours: int | None
    popularity: float


@dataclass(slots=True)
class _Pool:
    """Opportunities to draw from by popularity: indices and cumulative weights."""

    items: list[int] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)

    def add(self, index: int, weight: float) -> None:
        self.items.append(index)
        self.cum.append((self.cum[-1] if self.cum else 0.0) + weight)

    @property
    def total(self) -> float:
        return self.cum[-1] if self.cum else 0.0


@dataclass
class _Notes:
    """What the README points a reviewer at."""

    school_counts: dict[str, int] = field(default_factory=dict)
    address_only: list[str] = field(default_factory=list)
    groups: list[tuple[str, list[str]]] = field(default_factory=list)
    unranked: int = 0
    ties: list[str] = field(default_factory=list)
    calendars: list[tuple[str, str]] = field(default_factory=list)


def generate_bundle(
    out_dir: Path, *, students: int, seed: int = DEFAULT_SEED, name: str | None = None
) -> GeneratedSummary:
    """Write a realistic Denver term bundle of ``students`` students into ``out_dir``.

    Hosts and opportunities scale with the student count (0.3 and 0.625 per student). The same
    ``(students, seed, name)`` always gives byte-identical files. Existing files of the bundle in
    ``out_dir`` are overwritten; nothing else there is touched.
    """
    if students < 1:
        raise ValueError(f"students must be at least 1, got {students}")
    out_dir = Path(out_dir)
    term_name = name or f"Spring 2027 (generated: {students} students, seed {seed})"
    rng = Random(seed)
    n_hosts = max(1, round(students * HOSTS_PER_STUDENT))
    n_opps = max(n_hosts, round(students * OPPORTUNITIES_PER_STUDENT))
    (out_dir / "calendars").mkdir(parents=True, exist_ok=True)
    notes = _Notes()

    schools = _make_schools(students)
    hosts = _make_hosts(rng, n_hosts)
    opps = _make_opportunities(rng, hosts, n_opps)
    _attach_calendars(rng, out_dir, hosts, opps, notes)

    _write_term(out_dir / "term.toml", term_name, seed)
    with _open_csv(out_dir / "hosts.csv") as f:
        _write_hosts(f, hosts)
    with _open_csv(out_dir / "opportunities.csv") as f:
        _write_opportunities(f, hosts, opps)
    with (
        _open_csv(out_dir / "students.csv") as students_file,
        _open_csv(out_dir / "preferences.csv") as prefs_file,
    ):
        preferences, reviews = _write_students(
            rng, students, schools, hosts, opps, students_file, prefs_file, notes
        )
    with _open_csv(out_dir / "host_reviews.csv") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(REVIEW_COLUMNS)
        writer.writerows(reviews)
    call = f"students={students}, seed={seed}" + (f", name={name!r}" if name else "")
    _write_readme(
        out_dir / "README.md", term_name, call, students, seed, schools, hosts, opps,
        preferences, reviews, notes,
    )  # fmt: skip
    return GeneratedSummary(students, len(hosts), len(opps), preferences, out_dir)


# --- building blocks --------------------------------------------------------------------------


def _make_schools(n_students: int) -> list[School]:
    """Six named schools; large bundles add a school per 1,500 students in other neighbourhoods."""
    index = {place.name: i for i, place in enumerate(NEIGHBOURHOODS)}
    schools = [
        School(name, index[home], SCHOOL_WINDOWS[i % len(SCHOOL_WINDOWS)])
        for i, (name, home) in enumerate(BASE_SCHOOLS)
    ]
    wanted = min(len(NEIGHBOURHOODS), max(len(schools), math.ceil(n_students / 1500)))
    taken = {school.home for school in schools}
    spare = [i for i in range(len(NEIGHBOURHOODS)) if i not in taken]
    for k, home in enumerate(spare[: wanted - len(schools)]):
        suffix = EXTRA_SCHOOL_SUFFIXES[k % len(EXTRA_SCHOOL_SUFFIXES)]
        place = NEIGHBOURHOODS[home].name.split(" (")[0]
        schools.append(School(f"{place} {suffix}", home, SCHOOL_WINDOWS[k % len(SCHOOL_WINDOWS)]))
    return schools


def _make_hosts(rng: Random, n_hosts: int) -> list[_Host]:
    width = max(3, len(str(n_hosts)))
    area_cum = _cumulative(area.weight for area in AREAS)
    used: set[str] = set()
    # About a third take any number of students; about one in ten has no checked mentor.
    uncapped = set(rng.sample(range(n_hosts), round(n_hosts * 0.35)))
    unchecked = set(
        rng.sample(range(n_hosts), max(1, round(n_hosts * 0.10)) if n_hosts >= 5 else 0)
    )
    hosts = []
    for i in range(n_hosts):
        a = _pick(rng, area_cum)
        area = AREAS[a]
        cluster = rng.choices([c for c, _ in area.clusters], [w for _, w in area.clusters])[0]
        base = f"{rng.choice(NAME_PREFIXES)} {rng.choice(CLUSTER_TEXTS[cluster].employers)}"
        name = _unique_name(base, area, used)
        lat, lon = _jitter(rng, area.lat, area.lon, 0.006)
        hosts.append(
            _Host(
                code=f"H{i + 1:0{width}d}",
                name=name,
                cluster=cluster,
                area=a,
                lat=lat,
                lon=lon,
                address=_address(rng, area),
                max_students=None if i in uncapped else rng.randint(2, 8),
                checked=i not in unchecked,
            )
        )
    return hosts


def _unique_name(base: str, area: Place, used: set[str]) -> str:
    """Names repeat at scale; a second one becomes a branch, then a numbered branch."""
    candidates = [base, f"{base} – {area.name.split(' /')[0]}"]
    for name in candidates:
        if name not in used:
            used.add(name)
            return name
    n = 2
    while f"{candidates[1]} #{n}" in used:
        n += 1
    used.add(f"{candidates[1]} #{n}")
    return f"{candidates[1]} #{n}"


def _make_opportunities(rng: Random, hosts: list[_Host], n_opps: int) -> list[_Opportunity]:
    counts = [1] * len(hosts)
    for _ in range(n_opps - len(hosts)):
        counts[rng.randrange(len(hosts))] += 1
    kinds = _exact_shares(n_opps, KIND_SHARES)
    rng.shuffle(kinds)
    width = max(4, len(str(n_opps)))
    weekdays = _shadow_days()
    opps: list[_Opportunity] = []
    for h, host in enumerate(hosts):
        for _ in range(counts[h]):
            code = f"O{len(opps) + 1:0{width}d}"
            opps.append(_make_opportunity(rng, code, h, host, kinds[len(opps)], weekdays))
    _ensure_hazardous(rng, opps)
    return opps


def _ensure_hazardous(rng: Random, opps: list[_Opportunity]) -> None:
    """Every bundle has a few hazardous 18+ placements (job sites, shop floors), even small ones."""
    wanted = max(1, round(len(opps) * 0.012)) - sum(o.hazardous for o in opps)
    on_site = [o for o in opps if not o.remote and not o.hazardous and o.kind != "micro_internship"]
    likely = [o for o in on_site if o.cluster in HAZARDOUS_CLUSTERS] or on_site
    for opp in rng.sample(likely, min(max(wanted, 0), len(likely))):
        opp.min_age, opp.hazardous = 18, True


def _make_opportunity(
    rng: Random, code: str, h: int, host: _Host, kind: str, weekdays: list[date]
) -> _Opportunity:
    cluster = host.cluster if rng.random() < 0.85 else rng.choice(CROSS_CLUSTERS)
    texts = CLUSTER_TEXTS[cluster]
    min_age = min_grade = hours = None
    hazardous = remote = work_permit = False
    popularity = rng.lognormvariate(0.0, 0.9)
    if kind == "job_shadow":
        title = rng.choice(texts.shadows)
        capacity = rng.randint(1, 4)
        schedule = _shadow_schedule(rng, weekdays)
        if cluster in VIRTUAL_CLUSTERS and rng.random() < 0.10:
            remote = True
            title = f"Virtual {title}"
        elif rng.random() < 0.10:
            min_grade = 10
    elif kind == "internship":
        title = rng.choice(texts.internships)
        capacity = rng.randint(1, 3)
        days, start, end = rng.choice(INTERNSHIP_PATTERNS)
        first = rng.choice(INTERNSHIP_STARTS)
        last = rng.choice(INTERNSHIP_ENDS)
        schedule = f"{first}/{last} {days} {start}-{end}"
        if rng.random() < 0.30:
            title = f"{title} (Paid)"
            work_permit = rng.random() < 0.6
            popularity *= 2.0
        if rng.random() < 0.12:
            min_grade = 11
    else:
        title = rng.choice(texts.micros)
        capacity = rng.randint(1, 5)
        first, last = rng.choice(MICRO_SPANS)
        schedule = f"{first}/{last} flexible"
        hours = rng.choice(MICRO_HOURS)
        remote = rng.random() < 0.85
    if not remote:
        if rng.random() < {HEALTH: 0.40, LAW: 0.25}.get(cluster, 0.0):
            min_age = 16  # hospitals, fire stations
        elif cluster in HAZARDOUS_CLUSTERS and kind != "micro_internship" and rng.random() < 0.25:
            min_age = 18
            hazardous = True
    return _Opportunity(
        code=code,
        host=h,
        kind=kind,
        title=title,
        cluster=cluster,
        capacity=capacity,
        schedule=schedule,
        min_age=min_age,
        min_grade=min_grade,
        requires_consent=rng.random() < 0.88,
        requires_work_permit=work_permit,
        hazardous=hazardous,
        remote=remote,
        hours=hours,
        popularity=popularity,
    )


def _shadow_days() -> list[date]:
    """School weekdays a job shadow can be booked on: not spring break, not a holiday."""
    days = []
    day = date(2027, 2, 1)
    while day <= date(2027, 5, 21):
        in_break = SPRING_BREAK[0] <= day <= SPRING_BREAK[1]
        if day.weekday() < 5 and not in_break and day not in HOLIDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def _shadow_schedule(rng: Random, weekdays: list[date]) -> str:
    """One to four dated sessions: usually the same weekday in following weeks."""
    n = rng.choices((1, 2, 3, 4), (3, 4, 2, 1))[0]
    start, end = rng.choice(SHADOW_TIMES)
    if rng.random() < 0.6:
        first = rng.choice(weekdays)
        dates = [first + timedelta(weeks=k) for k in range(n)]
        dates = [d for d in dates if d in weekdays] or [first]
    else:
        dates = sorted(rng.sample(weekdays, n))
    return ";".join(f"{d} {start}-{end}" for d in dates)


def _attach_calendars(
    rng: Random, out_dir: Path, hosts: list[_Host], opps: list[_Opportunity], notes: _Notes
) -> None:
    """A few on-site internships publish their cohorts as an iCalendar file instead."""
    candidates = [i for i, o in enumerate(opps) if o.kind == "internship" and not o.remote]
    wanted = min(3, len(candidates), max(1, len(opps) // 20))
    for k, index in enumerate(sorted(rng.sample(candidates, wanted))):
        opp = opps[index]
        host = hosts[opp.host]
        cohorts = [ICS_COHORTS[(k + j) % len(ICS_COHORTS)] for j in range(1 if k == 1 else 2)]
        relative = f"calendars/{_slug(host.name)}-{opp.code.lower()}.ics"
        (out_dir / relative).write_bytes(_calendar_bytes(opp, host, cohorts))
        opp.schedule = f"ics:{relative}"
        notes.calendars.append((opp.code, relative))


def _calendar_bytes(
    opp: _Opportunity, host: _Host, cohorts: Sequence[tuple[tuple[str, ...], str, str]]
) -> bytes:
    """RFC 5545 text (CRLF) with a VTIMEZONE and one weekly VEVENT per cohort."""
    zone = ZoneInfo(TIMEZONE)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//WBL Scheduler//wbl.generate//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{host.name}: {opp.title}")
    cal.add("x-wr-timezone", TIMEZONE)
    cal.add_component(_denver_vtimezone())
    until = datetime.combine(ICS_LAST_DAY, time(23, 59, 59), zone).astimezone(UTC)
    for n, (byday, start, end) in enumerate(cohorts):
        weekdays = sorted(_BYDAY[d] for d in byday)
        first = ICS_FIRST_DAY
        while first.weekday() not in weekdays:
            first += timedelta(days=1)
        start_t, end_t = time.fromisoformat(start), time.fromisoformat(end)
        event = icalendar.Event()
        event.add("uid", f"{opp.code}-cohort-{n + 1}@wbl.example.org")
        event.add("dtstamp", ICS_DTSTAMP)
        event.add("summary", f"{opp.title}, cohort {'AB'[n]}")
        event.add("location", host.address)
        event.add("dtstart", datetime.combine(first, start_t, zone))
        event.add("dtend", datetime.combine(first, end_t, zone))
        event.add("rrule", {"freq": "weekly", "byday": list(byday), "until": until})
        breaks = []
        day = SPRING_BREAK[0]
        while day <= SPRING_BREAK[1]:
            if day.weekday() in weekdays:
                breaks.append(datetime.combine(day, start_t, zone))
            day += timedelta(days=1)
        event.add("exdate", breaks)
        cal.add_component(event)
    return cal.to_ical()


def _denver_vtimezone() -> icalendar.Timezone:
    """America/Denver as calendar programs write it: MST/MDT by the US rules since 2007."""
    tz = icalendar.Timezone()
    tz.add("tzid", TIMEZONE)
    tz.add("x-lic-location", TIMEZONE)
    for part, name, start, offsets, bymonth, byday in (
        (icalendar.TimezoneDaylight(), "MDT", datetime(2007, 3, 11, 2), (-7, -6), 3, "2SU"),
        (icalendar.TimezoneStandard(), "MST", datetime(2007, 11, 4, 2), (-6, -7), 11, "1SU"),
    ):
        part.add("tzname", name)
        part.add("dtstart", start)
        part.add("tzoffsetfrom", timedelta(hours=offsets[0]))
        part.add("tzoffsetto", timedelta(hours=offsets[1]))
        part.add("rrule", {"freq": "yearly", "bymonth": bymonth, "byday": byday})
        tz.add_component(part)
    return tz


# --- students and preferences -----------------------------------------------------------------


@dataclass
class _Chooser:
    """Draws preferences: popular, nearby, in the student's fields (see :func:`_build_chooser`)."""

    area_pools: list[_Pool]
    area_cluster_pools: list[dict[str, _Pool]]
    remote_pool: _Pool
    remote_cluster_pools: dict[str, _Pool]
    # (neighbourhood, transport) -> cumulative weights over AREAS; with a cluster for interest.
    near: dict[tuple[int, str], list[float]]
    near_cluster: dict[tuple[int, str, str], list[float]]


DISTANCE_SCALE_KM = {"walk": 2.5, "bike": 5.0, "transit": 6.0, "car": 12.0}


def _build_chooser(opps: list[_Opportunity], hosts: list[_Host]) -> _Chooser:
    area_pools = [_Pool() for _ in AREAS]
    area_cluster_pools: list[dict[str, _Pool]] = [{c: _Pool() for c in CLUSTERS} for _ in AREAS]
    remote_pool = _Pool()
    remote_cluster_pools = {c: _Pool() for c in CLUSTERS}
    for i, opp in enumerate(opps):
        if opp.remote:
            remote_pool.add(i, opp.popularity)
            remote_cluster_pools[opp.cluster].add(i, opp.popularity)
        else:
            a = hosts[opp.host].area
            area_pools[a].add(i, opp.popularity)
            area_cluster_pools[a][opp.cluster].add(i, opp.popularity)
    near: dict[tuple[int, str], list[float]] = {}
    near_cluster: dict[tuple[int, str, str], list[float]] = {}
    for n, place in enumerate(NEIGHBOURHOODS):
        for mode, scale in DISTANCE_SCALE_KM.items():
            decay = [math.exp(-_km(place.lat, place.lon, a.lat, a.lon) / scale) for a in AREAS]
            near[n, mode] = _cumulative(d * p.total for d, p in zip(decay, area_pools, strict=True))
            for c in CLUSTERS:
                near_cluster[n, mode, c] = _cumulative(
                    d * pools[c].total for d, pools in zip(decay, area_cluster_pools, strict=True)
                )
    return _Chooser(area_pools, area_cluster_pools, remote_pool, remote_cluster_pools, near,
                    near_cluster)  # fmt: skip


def _choose_preferences(
    rng: Random, chooser: _Chooser, home: int, mode: str, interests: list[str], k: int
) -> list[int]:
    """Up to ``k`` distinct opportunities: mostly in the student's fields, mostly near home."""
    chosen: list[int] = []
    for _ in range(k * 6):
        if len(chosen) == k:
            break
        r = rng.random()
        cluster = rng.choice(interests)
        pool: _Pool | None = None
        if r < 0.15:
            pool = chooser.remote_cluster_pools[cluster] if r < 0.08 else chooser.remote_pool
        elif r < 0.70:
            cum = chooser.near_cluster[home, mode, cluster]
            if cum[-1] > 0:
                pool = chooser.area_cluster_pools[_pick(rng, cum)][cluster]
        else:
            cum = chooser.near[home, mode]
            if cum[-1] > 0:
                pool = chooser.area_pools[_pick(rng, cum)]
        if pool is None or not pool.items:
            continue
        index = pool.items[_pick(rng, pool.cum)]
        if index not in chosen:
            chosen.append(index)
    return chosen


@dataclass
class _Group:
    """A buddy group being written: its members share home, school, windows and rankings."""

    code: str
    home: int
    school: int
    available: str
    left: int
    prefs: list[int] = field(default_factory=list)


def _write_students(
    rng: Random,
    n: int,
    schools: list[School],
    hosts: list[_Host],
    opps: list[_Opportunity],
    students_file: TextIO,
    prefs_file: TextIO,
    notes: _Notes,
) -> tuple[int, list[tuple[str, str, str, str]]]:
    """Stream students and their preferences; return the preference count and review rows."""
    width = max(4, len(str(n)))
    chooser = _build_chooser(opps, hosts)
    home_cum = _cumulative(p.weight for p in NEIGHBOURHOODS)
    school_cum = _school_choice(schools)
    heritage_cum = _cumulative(h.weight for h in HERITAGES)
    interest_names = list(INTEREST_WEIGHTS)
    interest_cum = _cumulative(INTEREST_WEIGHTS.values())
    grade_cum = _cumulative(w for _, w in GRADE_WEIGHTS)
    denver_homes = [i for i, p in enumerate(NEIGHBOURHOODS) if p.city == "Denver"]

    # Features every bundle of 100+ students shows, chosen up front so they are always there.
    group_starts = _group_starts(rng, n)
    grouped = {s + k for s, size in group_starts.items() for k in range(size)}
    unranked = set(rng.sample(range(n), round(n * 0.08)))
    ranked = [i for i in range(n) if i not in unranked]
    loners = [i for i in range(n) if i not in grouped]
    address_only = set(rng.sample(loners, min(len(loners), 5 if n >= 100 else n // 20)))
    ties = set(rng.sample(ranked, min(len(ranked), max(1, round(n * 0.02)))) if n >= 20 else ())
    vetoes = set(rng.sample(ranked, min(len(ranked), max(1, round(n * 0.015)))) if n >= 20 else ())
    by_popularity = sorted(range(len(opps)), key=lambda i: (-opps[i].popularity, i))
    top = by_popularity[: max(1, len(opps) * 3 // 10)]
    reviewed = rng.sample(top, min(len(top), max(1, round(len(opps) * 0.06))))
    accepts: dict[int, list[str]] = {i: [] for i in sorted(reviewed)}
    veto_rows: list[tuple[int, str]] = []
    used_emails: dict[str, int] = {}

    students_csv = csv.writer(students_file, lineterminator="\n")
    prefs_csv = csv.writer(prefs_file, lineterminator="\n")
    students_csv.writerow(STUDENT_COLUMNS)
    prefs_csv.writerow(PREFERENCE_COLUMNS)
    preferences = 0
    group: _Group | None = None
    group_width = max(3, len(str(len(group_starts))))
    for i in range(n):
        code = f"S{i + 1:0{width}d}"
        heritage = HERITAGES[_pick(rng, heritage_cum)]
        first = rng.choice(heritage.first)
        last_names = heritage.last if rng.random() < 0.85 else rng.choice(HERITAGES).last
        last = rng.choice(last_names)
        grade = GRADE_WEIGHTS[_pick(rng, grade_cum)][0]
        birth = _birth_date(rng, grade)
        age = _age(birth, TERM_START)
        interests = [interest_names[_pick(rng, interest_cum)]]
        if rng.random() < 0.5:
            interests.append(interest_names[_pick(rng, interest_cum)])

        follower = group is not None and group.left > 0
        if group is not None and follower:
            group.left -= 1
            home, school_index, available = group.home, group.school, group.available
        else:
            group = None
            home = _pick(rng, home_cum)
            if i in address_only and home not in denver_homes:
                home = rng.choice(denver_homes)
            school_index = _pick(rng, school_cum[home])
            available = schools[school_index].available
            if rng.random() < 0.08:
                available = rng.choice(INDIVIDUAL_WINDOWS)
            if i in group_starts:
                group_code = f"G{len(notes.groups) + 1:0{group_width}d}"
                group = _Group(group_code, home, school_index, available, group_starts[i] - 1)
                notes.groups.append((group_code, []))
        if group is not None:
            notes.groups[-1][1].append(code)
        school = schools[school_index]
        place = NEIGHBOURHOODS[home]
        notes.school_counts[school.name] = notes.school_counts.get(school.name, 0) + 1

        if age >= 16 and grade >= 11 and rng.random() < 0.3:
            transport = "car"
        else:
            transport = rng.choices(("walk", "bike", "transit"), (12, 10, 78))[0]
        r = rng.random()
        max_travel = 30 if r < 0.08 else 60 if r < 0.13 else None

        flags = []
        low_income = rng.random() < 0.5
        if rng.random() < (0.45 if low_income else 0.15):
            flags.append("first_gen")
        if low_income:
            flags.append("low_income")
        prior: list[str] = []
        if rng.random() < PRIOR_WBL_RATE[grade]:
            prior = [interests[0]] if rng.random() < 0.6 else [rng.choice(CLUSTERS)]
            if rng.random() < 0.25 and (other := rng.choice(CLUSTERS)) not in prior:
                prior.append(other)
        else:
            flags.append("no_prior_wbl")
        if rng.random() < heritage.ell_rate:
            flags.append("ell")
        if rng.random() < 0.11:
            flags.append("iep")

        lat, lon = _jitter(rng, place.lat, place.lon, 0.01)
        address = _address(rng, place)
        if i in address_only:
            notes.address_only.append(code)
            lat_text = lon_text = ""
        else:
            lat_text, lon_text = f"{lat:.6f}", f"{lon:.6f}"
        consent = rng.random() < 0.92
        permit = age >= 16 and rng.random() < 0.35
        students_csv.writerow(
            (
                code,
                f"{first} {last}",
                _email(first, last, used_emails),
                school.name,
                grade,
                birth.isoformat(),
                lat_text,
                lon_text,
                address,
                transport,
                _text(max_travel),
                available,
                ";".join(flags),
                _text(consent),
                _text(permit),
                ";".join(prior),
                group.code if group is not None else "",
            )
        )

        # Buddies rank what their group's first member ranked: they want to be together.
        k = rng.choices((1, 2, 3, 4, 5, 6), (3, 5, 20, 30, 25, 17))[0]
        if group is not None and follower and group.prefs:
            chosen = list(group.prefs)
            if len(chosen) > 1 and rng.random() < 0.5:
                j = rng.randrange(len(chosen) - 1)
                chosen[j], chosen[j + 1] = chosen[j + 1], chosen[j]
        else:
            chosen = _choose_preferences(rng, chooser, home, transport, interests, k)
            if group is not None:
                group.prefs = chosen
        if i in unranked:
            notes.unranked += 1
            continue
        ranks = list(range(1, len(chosen) + 1))
        if i in ties and len(chosen) >= 2:
            j = rng.randrange(1, len(chosen))
            ranks = ranks[:j] + [r - 1 for r in ranks[j:]]
            notes.ties.append(code)
        vetoed = rng.choice(chosen) if i in vetoes and chosen else None
        for opp_index, rank in zip(chosen, ranks, strict=True):
            prefs_csv.writerow((code, opps[opp_index].code, rank))
            preferences += 1
            if opp_index == vetoed:
                veto_rows.append((opp_index, code))
            elif opp_index in accepts and rng.random() < 0.85:
                accepts[opp_index].append(code)

    reviews: list[tuple[str, str, str, str]] = []
    vetoed_by_opp: dict[int, list[str]] = {}
    for opp_index, code in veto_rows:
        vetoed_by_opp.setdefault(opp_index, []).append(code)
    for opp_index in sorted(set(accepts) | set(vetoed_by_opp)):
        accepted = accepts.get(opp_index, [])
        rng.shuffle(accepted)
        opp_code = opps[opp_index].code
        reviews.extend((opp_code, s, "accept", str(r)) for r, s in enumerate(accepted, 1))
        reviews.extend((opp_code, s, "veto", "") for s in vetoed_by_opp.get(opp_index, []))
    return preferences, reviews


def _group_starts(rng: Random, n: int) -> dict[int, int]:
    """Buddy groups of 2-3 consecutive students: start index -> size."""
    if n < 10:
        return {}
    wanted = max(1, n // 70)
    starts: dict[int, int] = {}
    slots = rng.sample(range(n // 3), min(wanted, n // 3))
    for slot in sorted(slots):
        start = slot * 3
        starts[start] = min(rng.choice((2, 2, 3)), n - start)
    return {s: size for s, size in starts.items() if size >= 2}


def _school_choice(schools: list[School]) -> list[list[float]]:
    """Per neighbourhood: cumulative school weights, mostly the nearest school (school choice)."""
    table = []
    for place in NEIGHBOURHOODS:
        km = [_km(place.lat, place.lon, *_home_of(s)) for s in schools]
        nearest = min(range(len(schools)), key=lambda j: (km[j], j))
        weights = [1.0 / (d + 1.0) ** 2 for d in km]
        total = sum(weights)
        weights = [0.3 * w / total for w in weights]
        weights[nearest] += 0.7
        table.append(_cumulative(weights))
    return table


def _home_of(school: School) -> tuple[float, float]:
    place = NEIGHBOURHOODS[school.home]
    return place.lat, place.lon


def _birth_date(rng: Random, grade: int) -> date:
    """Born in the school year's cut-off window for the grade; a few a year older or younger."""
    year = 2020 - grade
    r = rng.random()
    if r < 0.03:
        year -= 1
    elif r < 0.04:
        year += 1
    return date(year, 9, 1) + timedelta(days=rng.randrange(365))


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _email(first: str, last: str, used: dict[str, int]) -> str:
    base = f"{_ascii(first)}.{_ascii(last)}"
    used[base] = used.get(base, 0) + 1
    suffix = str(used[base]) if used[base] > 1 else ""
    return f"{base}{suffix}@students.example.org"


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum() or ch == "-")


# --- writing ----------------------------------------------------------------------------------


def _open_csv(path: Path) -> TextIO:
    return path.open("w", encoding="utf-8", newline="")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_term(path: Path, name: str, seed: int) -> None:
    rules = dataclasses.replace(RULES, seed=seed).to_toml()
    term = {"name": name, "start": TERM_START, "end": TERM_END, "timezone": TIMEZONE}
    term["rules"] = rules
    path.write_text(tomli_w.dumps(term), encoding="utf-8", newline="\n")


def _write_hosts(f: TextIO, hosts: list[_Host]) -> None:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(HOST_COLUMNS)
    for h in hosts:
        writer.writerow(
            (h.code, h.name, h.cluster, f"{h.lat:.6f}", f"{h.lon:.6f}", h.address,
             _text(h.max_students), _text(h.checked))
        )  # fmt: skip


def _write_opportunities(f: TextIO, hosts: list[_Host], opps: list[_Opportunity]) -> None:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(OPPORTUNITY_COLUMNS)
    for o in opps:
        writer.writerow(
            (o.code, hosts[o.host].code, o.kind, o.title, o.cluster, o.capacity, o.schedule,
             _text(o.min_age), _text(o.min_grade), _text(o.requires_consent),
             _text(o.requires_work_permit), _text(o.hazardous), _text(o.remote), _text(o.hours))
        )  # fmt: skip


def _write_readme(
    path: Path,
    name: str,
    call: str,
    n_students: int,
    seed: int,
    schools: list[School],
    hosts: list[_Host],
    opps: list[_Opportunity],
    preferences: int,
    reviews: list[tuple[str, str, str, str]],
    notes: _Notes,
) -> None:
    kinds = {kind: sum(o.kind == kind for o in opps) for kind, _ in KIND_SHARES}
    remote = sum(o.remote for o in opps)
    unchecked = [h.code for h in hosts if not h.checked]
    hazardous = [o.code for o in opps if o.hazardous]
    accepts = sum(r[2] == "accept" for r in reviews)
    vetoes = [f"{r[0]}/{r[1]}" for r in reviews if r[2] == "veto"]
    clusters = len({o.cluster for o in opps})
    lines = [
        f"# {name}: a generated term bundle",
        "",
        "A work-based learning term in Denver, Colorado (timezone America/Denver), from "
        f"{TERM_START} to {TERM_END}. Spring break is {SPRING_BREAK[0]} to {SPRING_BREAK[1]}; "
        "daylight-saving time starts on 2027-03-14, inside the term.",
        "",
        "Written by `wbl.generate`: "
        f"`generate_bundle(OUT_DIR, {call})` "
        f"(CLI: `wbl generate --students {n_students} --seed {seed} OUT_DIR`). "
        "Regenerate it rather than editing it by hand: the same arguments give the same bytes, "
        "and the tests compare the committed sample with a fresh run.",
        "",
        "People, schools and employers are fictional (emails use example.org). Neighbourhoods, "
        "employment areas, ZIP codes and street names are real; coordinates are the "
        "neighbourhood's centroid with a little random jitter, so they are near but not at the "
        "street address.",
        "",
        "## Files",
        "",
        "| file | rows |",
        "| --- | --- |",
        f"| students.csv | {n_students} |",
        f"| hosts.csv | {len(hosts)} |",
        f"| opportunities.csv | {len(opps)} ({kinds['job_shadow']} job shadows, "
        f"{kinds['internship']} internships, {kinds['micro_internship']} micro-internships; "
        f"{remote} remote; {clusters} career clusters) |",
        f"| preferences.csv | {preferences} |",
        f"| host_reviews.csv | {len(reviews)} ({accepts} accept, {len(vetoes)} veto) |",
        f"| calendars/*.ics | {len(notes.calendars)} |",
        "",
        "## Schools and release windows",
        "",
        "Students are free in their school's window (`available`); about 8% have their own "
        "windows instead (a job, sports, online classes). Blank means any weekday 08:00-18:00.",
        "",
        "| school | neighbourhood | available | students |",
        "| --- | --- | --- | --- |",
    ]
    for school in schools:
        count = notes.school_counts.get(school.name, 0)
        where = NEIGHBOURHOODS[school.home].name
        available = school.available.replace("|", "\\|") or "(blank)"
        lines.append(f"| {school.name} | {where} | {available} | {count} |")
    groups = [f"{g} ({', '.join(members)})" for g, members in notes.groups]
    calendars = [f"{code} (`{path}`)" for code, path in notes.calendars]
    lines += [
        "",
        "## What to look for",
        "",
        "- Internship times fit some schools' windows and not others (e.g. Tue,Thu 13:30-16:30 "
        "suits the Tue,Thu 12:30-17:00 school but not the Wed/Fri one); travel time before a "
        "session must fit too.",
        f"- Calendar-scheduled internships, weekly cohorts with spring break excluded: "
        f"{_listing(calendars)}.",
        "- Students with an address but no coordinates (placed by the offline ZIP-centroid "
        f"geocoder): {_listing(notes.address_only)}.",
        f"- Buddy groups (same school, same internship host wanted): {_listing(groups)}.",
        f"- Students who ranked nothing: {notes.unranked}; students with tied ranks: "
        f"{_listing(notes.ties)}.",
        f"- Host vetoes (opportunity/student): {_listing(vetoes)}.",
        "- Hosts whose mentors are not background-checked (no minors when the rule is on): "
        f"{_listing(unchecked)}.",
        f"- Hazardous opportunities (18+ only): {_listing(hazardous)}.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8", newline="\n")


def _listing(items: Sequence[str], limit: int = 12) -> str:
    if not items:
        return "none"
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


# --- small helpers ----------------------------------------------------------------------------


def _exact_shares(n: int, shares: Sequence[tuple[str, float]]) -> list[str]:
    """``n`` labels in the given shares, each label at least once when ``n`` allows."""
    counts = [round(n * share) for _, share in shares]
    counts[-1] = n - sum(counts[:-1])
    for j in range(len(counts)):
        while counts[j] < 1 and n >= len(counts):
            donor = max(range(len(counts)), key=lambda d: counts[d])
            counts[donor] -= 1
            counts[j] += 1
    while counts[-1] < 0:
        donor = max(range(len(counts)), key=lambda d: counts[d])
        counts[donor] -= 1
        counts[-1] += 1
    return [label for (label, _), c in zip(shares, counts, strict=True) for _ in range(c)]


def _cumulative(weights: Any) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: Random, cum: list[float]) -> int:
    """Index drawn in proportion to the weights behind the cumulative list ``cum``."""
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _jitter(rng: Random, lat: float, lon: float, spread: float) -> tuple[float, float]:
    lat = min(max(lat + rng.uniform(-spread, spread), LAT_RANGE[0]), LAT_RANGE[1])
    lon = min(max(lon + rng.uniform(-spread, spread) * 1.2, LON_RANGE[0]), LON_RANGE[1])
    return lat, lon


def _address(rng: Random, place: Place) -> str:
    number = rng.randint(1, 59) * 100 + rng.randint(0, 99)
    return f"{number} {rng.choice(place.streets)}, {place.city}, CO {place.zip_code}"


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance; plenty for ranking places within one metro area."""
    dy = (lat2 - lat1) * 110.57
    dx = (lon2 - lon1) * 111.32 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.replace("&", " and ")).encode("ascii", "ignore")
    words = "".join(ch if ch.isalnum() else " " for ch in plain.decode().lower()).split()
    return "-".join(words)[:40].rstrip("-")
