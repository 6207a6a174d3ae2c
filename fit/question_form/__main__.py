from fit.question_form.run import main

if __name__ == "__main__":
    raise SystemExit(main())
