"""The claim ids of the five seed documents (their INDEX lists them; one per numbered problem
part).  The catalogue must register each exactly once."""

CLAIM_IDS: tuple[str, ...] = (
    "ryu22.q1a",
    "ryu22.q1b",
    "ryu22.q2",
    "ryu22.q3",
    "ryu22.q4",
    "ryu22.q5a",
    "ryu22.q5b",
    "ryu22.q6a",
    "ryu22.q6b",
    "ryu22.q6c",
    "ryu22.q6d",
    "ryu22.q6e",
    "ryu22.q7",
    "ttic.p1",
    "ttic.p2",
    "ttic.p3",
    "ttic.p4a",
    "ttic.p4b",
    "ttic.p4c",
    "ttic.p5",
    "ryu24.q1a",
    "ryu24.q1b",
    "ryu24.q1c",
    "ryu24.q2",
    "ryu24.q3a",
    "ryu24.q3b",
    "ryu24.q4",
    "ryu24.q5",
    "ryu24.q6",
    "ryu24.q7",
    "hw6.p1",
    "hw6.p2",
    "hw6.p3",
    "hw6.p4",
    "hw6.p5",
    "bouman.q2_1",
    "bouman.q2_2",
    "bouman.q2_3",
    "bouman.q2_4",
    "bouman.q2_5",
    "bouman.q2_6",
    "bouman.q3_1",
    "bouman.q3_2",
    "bouman.q3_3",
    "bouman.q3_4",
    "bouman.q3_5",
    "bouman.q3_6",
    "bouman.q4",
    "bouman.q5_1",
    "bouman.q5_2",
    "bouman.q5_3",
    "bouman.q5_4",
    "bouman.q5_5",
    "bouman.q5_6",
)


#: The seed documents, by claim-id prefix: (file name, document).
DOCUMENTS: dict[str, tuple[str, str]] = {
    "ryu22": ("000_d85d049c3e3e2b0f.txt", "Mathematical Foundations of Deep Neural Networks "
              "(SNU M1407.001200, E. Ryu), midterm, Fall 2022"),
    "ttic": ("001_c4415d6bd9947e93.txt", "TTIC 31230 Fundamentals of Deep Learning "
             "(D. McAllester), midterm with solutions"),
    "ryu24": ("002_afca89283d6ba948.txt", "SNU M1407.001200, midterm with solutions, Spring 2024"),
    "hw6": ("003_13a39b0b72803044.txt", "SNU M1407.001200, Homework 6 with solutions, "
            "Spring 2024"),
    "bouman": ("004_05df64ab86e8d486.txt", "Purdue BME/ECE 695 Deep Learning, Midterm I with "
               "solutions, Spring 2022"),
}
